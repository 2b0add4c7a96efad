/**
 * Keys ({@link dev.natpunch.crypto.Key}, {@link dev.natpunch.crypto.KeyPair}) and the Noise IK
 * handshake the rendezvous protocol runs on.
 */
package dev.natpunch.crypto;
