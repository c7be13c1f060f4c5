package io.splitinfer.ue;

import io.splitinfer.proto.v1.Pilot;

/** Makes the known pilot vectors a UE sends so the edge can estimate the uplink. */
@FunctionalInterface
public interface PilotSource {
  Pilot pilot(String sessionId, long sequence);
}
