/**
 * Byte-level codecs for the version 1 rendezvous wire protocol (natpunch-go compatible), as laid
 * down in {@code wire-protocol-v1.md}.
 *
 * <p><b>Internal.</b> This package is public only so that the server, the client and the
 * benchmarks (which live in other packages) can share one codec. It is not part of the library's
 * API and may change in any release without notice; applications should use
 * {@link dev.natpunch.server.RendezvousServer} and {@link dev.natpunch.client.RendezvousClient}.
 *
 * <p>Everything here works on caller-owned {@code byte[]} regions with explicit offsets and never
 * allocates, so that the server's lookup path can run without garbage. Validation never throws on
 * hostile input: it answers with a {@link dev.natpunch.protocol.Rejection} instead.
 */
package dev.natpunch.protocol;
