/**
 * The cluster as a node sees it: Hazelcast's setup under the secret's name, the live nodes and where
 * agent instances run ({@link dev.agenthub.hub.cluster.NodeDirectory}), the rendezvous routing of
 * sessions, and the membership checks (a lone node, an intruder). See "Routing, ownership and
 * failover" and "Trust" in docs/ARCHITECTURE.md.
 */
package dev.agenthub.hub.cluster;
