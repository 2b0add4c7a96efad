package dev.natpunch.bench.crypto;

import java.math.BigInteger;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.NamedParameterSpec;
import java.security.spec.XECPrivateKeySpec;
import java.security.spec.XECPublicKeySpec;
import java.util.concurrent.TimeUnit;
import javax.crypto.KeyAgreement;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * X25519 providers: one Diffie-Hellman from raw 32-byte keys (what a Noise handshake does with a
 * key that just arrived), and one public-key derivation (an ephemeral key per handshake).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Thread)
public class X25519Benchmark {
    private byte[] priv;
    private byte[] peerPub;
    private final byte[] out = new byte[32];
    private KeyFactory jdkFactory;
    private KeyAgreement jdkAgreement;
    private PrivateKey jdkPriv;
    private PublicKey jdkPeer;

    @Setup
    public void setup() throws Exception {
        SecureRandom random = new SecureRandom();
        priv = new byte[32];
        random.nextBytes(priv);
        byte[] peerPriv = new byte[32];
        random.nextBytes(peerPriv);
        peerPub = new byte[32];
        org.bouncycastle.math.ec.rfc7748.X25519.scalarMultBase(peerPriv, 0, peerPub, 0);
        jdkFactory = KeyFactory.getInstance("XDH");
        jdkAgreement = KeyAgreement.getInstance("XDH");
        jdkPriv = jdkPrivate(priv);
        jdkPeer = jdkPublic(peerPub);
    }

    private PrivateKey jdkPrivate(byte[] scalar) throws Exception {
        return jdkFactory.generatePrivate(new XECPrivateKeySpec(NamedParameterSpec.X25519, scalar));
    }

    private PublicKey jdkPublic(byte[] u) throws Exception {
        byte[] be = new byte[32];
        for (int i = 0; i < 32; i++) {
            be[i] = u[31 - i];
        }
        be[0] &= 0x7f;
        return jdkFactory.generatePublic(new XECPublicKeySpec(NamedParameterSpec.X25519, new BigInteger(1, be)));
    }

    @Benchmark
    public byte[] dhBouncyCastle() {
        org.bouncycastle.math.ec.rfc7748.X25519.calculateAgreement(priv, 0, peerPub, 0, out, 0);
        return out;
    }

    @Benchmark
    public byte[] dhTink() throws Exception {
        return com.google.crypto.tink.subtle.X25519.computeSharedSecret(priv, peerPub);
    }

    /** JDK XDH including the conversion of the raw keys, as a handshake would need. */
    @Benchmark
    public byte[] dhJdkFromRawKeys() throws Exception {
        jdkAgreement.init(jdkPrivate(priv));
        jdkAgreement.doPhase(jdkPublic(peerPub), true);
        return jdkAgreement.generateSecret();
    }

    /** JDK XDH with key objects built beforehand: its best case. */
    @Benchmark
    public byte[] dhJdkPrebuiltKeys() throws Exception {
        jdkAgreement.init(jdkPriv);
        jdkAgreement.doPhase(jdkPeer, true);
        return jdkAgreement.generateSecret();
    }

    @Benchmark
    public byte[] publicKeyBouncyCastle() {
        org.bouncycastle.math.ec.rfc7748.X25519.scalarMultBase(priv, 0, out, 0);
        return out;
    }

    @Benchmark
    public byte[] publicKeyTink() throws Exception {
        return com.google.crypto.tink.subtle.X25519.publicFromPrivate(priv);
    }
}
