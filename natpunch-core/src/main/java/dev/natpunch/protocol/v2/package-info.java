/**
 * Byte-level codecs for version 2 of the rendezvous protocol, as laid down in
 * {@code docs/protocol-v2.md}: the capability blocks carried in the version 1 handshake, the
 * sealed envelopes of types 4 and 5 with their inner messages (batch lookup, push, registration
 * of candidates and families, NAT probing, server information, relay control, errors), and the
 * relay bind datagram.
 *
 * <p><b>Internal.</b> Public only so that the server, the client and the benchmarks share one
 * codec; not part of the library's API.
 *
 * <p>Like the version 1 package, everything works on caller-owned {@code byte[]} regions with
 * explicit offsets. Validation never throws on hostile input; it answers with a
 * {@link dev.natpunch.protocol.v2.V2Rejection}. A plaintext that passed
 * {@link dev.natpunch.protocol.v2.V2Messages#checkToServer} or
 * {@link dev.natpunch.protocol.v2.V2Messages#checkToClient} is safe to read with the accessors of
 * its kind, which read fixed offsets and never allocate (apart from
 * {@link dev.natpunch.protocol.v2.WireEndpoint#read}, which builds a value object).
 */
package dev.natpunch.protocol.v2;
