/**
 * The rendezvous server: {@link dev.natpunch.server.RendezvousServer} (built with
 * {@link dev.natpunch.server.RendezvousServer#builder()}), its
 * {@link dev.natpunch.server.ServerListener} and {@link dev.natpunch.server.ServerMetrics}.
 * {@link dev.natpunch.server.InternalPacketHandler} is for benchmarks only and not API.
 */
package dev.natpunch.server;
