/** agenthub memory. */
package dev.agenthub.memory;
