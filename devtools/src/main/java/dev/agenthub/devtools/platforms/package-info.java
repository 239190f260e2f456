/**
 * Stand-ins for the messaging platforms the channels talk to, as strict as the real ones where it
 * matters to the hub: {@link dev.agenthub.devtools.platforms.TelegramStandIn} (the Bot API) and
 * {@link dev.agenthub.devtools.platforms.SlackStandIn} (the Web API). They check tokens, refuse what
 * the platforms refuse, answer 429 when their pacing is broken, and record what they received.
 */
package dev.agenthub.devtools.platforms;
