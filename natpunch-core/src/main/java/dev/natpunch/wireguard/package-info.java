/**
 * Reading a WireGuard device and changing a peer's endpoint and persistent keepalive, through
 * the userspace API socket (wireguard-go, boringtun), the Linux kernel's generic netlink family,
 * or the {@code wg} command. Start at {@link dev.natpunch.wireguard.WireguardControl#automatic()}.
 */
package dev.natpunch.wireguard;
