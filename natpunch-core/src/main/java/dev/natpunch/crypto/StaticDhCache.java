package dev.natpunch.crypto;

/**
 * A responder's memory of the static-static Diffie-Hellman of Noise IK, ss = DH(s, rs), for
 * initiators it has met, so that a known initiator's next handshake costs one scalar
 * multiplication less (see {@link NoiseHandshake#readMessage(byte[], int, int, byte[], int,
 * StaticDhCache)}). ss depends on nothing but the responder's static private key and the
 * initiator's static public key, so a remembered value is exactly what the multiplication would
 * give, as long as one cache serves one responder key pair and remembers a value under the exact
 * 32 bytes it was computed for.
 *
 * <p>The values are secrets (with ss, a forged message 1 of that initiator would authenticate
 * once its sender also chose the ephemeral key): an implementation keeps them no longer than it
 * needs them and zeroes them when it forgets them. Whether a value is found must not tell a third
 * party more than it already knows, since a hit is faster than a miss: the server's cache only
 * answers for the address the initiator's registration was last seen at.
 */
public interface StaticDhCache {
    /**
     * Writes the remembered ss for the initiator static key at {@code remoteStatic[offset..offset+32)}
     * to {@code out[0..32)}.
     *
     * @return false, with nothing written, when there is none
     */
    boolean find(byte[] remoteStatic, int offset, byte[] out);

    /**
     * Offers ss just computed for the key at {@code remoteStatic[offset..offset+32)}, whose message
     * 1 authenticated with it. {@code ss} is the handshake's own buffer, zeroed after the call:
     * copy what is kept.
     */
    void offer(byte[] remoteStatic, int offset, byte[] ss);
}
