/**
 * Keys and the cryptography of the rendezvous protocol.
 *
 * <ul>
 *   <li>{@link dev.natpunch.crypto.Key}, {@link dev.natpunch.crypto.KeyPair}: X25519 keys as
 *       WireGuard writes them.</li>
 *   <li>{@link dev.natpunch.crypto.NoiseHandshake}: Noise_IK_25519_ChaChaPoly_BLAKE2s with the
 *       natpunch-go prologue; yields {@link dev.natpunch.crypto.TransportKeys}.</li>
 *   <li>{@link dev.natpunch.crypto.CipherState}: ChaCha20-Poly1305 with explicit counters, shared
 *       by threads, allocation-free.</li>
 *   <li>{@link dev.natpunch.crypto.ReplayWindow}: the RFC 6479 anti-replay window (960 counters).</li>
 * </ul>
 *
 * <p>Providers: X25519 and BLAKE2s from BouncyCastle, ChaCha20-Poly1305 written here; the
 * measurements behind that choice are in docs/PERFORMANCE.md.
 */
package dev.natpunch.crypto;
