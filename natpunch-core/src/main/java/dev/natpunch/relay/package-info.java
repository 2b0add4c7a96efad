/**
 * The relay: a UDP forwarder for pairs of WireGuard peers that cannot reach each other directly
 * (both behind symmetric NATs, for example). {@link dev.natpunch.relay.Relay} (built with
 * {@link dev.natpunch.relay.Relay#builder()}) gives each pair two ports, one facing each peer, and
 * forwards WireGuard's datagrams between them unchanged; it holds no WireGuard keys and sees only
 * ciphertext. The rendezvous server hands out allocations through
 * {@link dev.natpunch.relay.RelayAllocator} (protocol version 2, RELAY and the relay bind datagram,
 * {@code docs/protocol-v2.md} section 6.7).
 */
package dev.natpunch.relay;
