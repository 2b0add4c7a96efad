/**
 * The rendezvous client: {@link dev.natpunch.client.RendezvousClient} registers a WireGuard key
 * with a rendezvous server and asks where peers are.
 */
package dev.natpunch.client;
