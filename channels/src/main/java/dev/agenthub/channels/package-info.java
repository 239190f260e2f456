/**
 * Agents where their users are: Telegram and Slack bots. Start with
 * {@link dev.agenthub.channels.ChannelsVerticle} (what happens to a webhook, once across the
 * cluster); {@code SlackWire} and {@code TelegramWire} keep the platforms' formats; {@code Outbox}
 * paces what goes out. Contracts: "Contract: channels" in docs/ARCHITECTURE.md.
 */
package dev.agenthub.channels;
