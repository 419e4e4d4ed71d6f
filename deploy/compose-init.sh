#!/bin/sh
# The one-time setup of deploy/compose.yml's federation, run by its `init`
# service before the nodes start: a network (genesis and root key), two
# nodes that dial each other at every start, and each node's charter,
# signed by the root and stored at the node. Run again, it finds the nodes
# made and does nothing; to start over, `docker compose down -v`.
#
# In a real federation the root is an offline machine of its own and each
# node's institution runs `curbside node init` itself: this script is the
# README's operator walk-through, compressed into one container for a demo
# and for tests. The settings below are the compose defaults; the
# environment overrides them.
set -eu

council=${COUNCIL:-/council}
a=${NODE_A_DATA:-/nodes/a}
b=${NODE_B_DATA:-/nodes/b}
host_a=${NODE_A_HOST:-node-a}
host_b=${NODE_B_HOST:-node-b}
p2p_a=${NODE_A_P2P_PORT:-7421}
p2p_b=${NODE_B_P2P_PORT:-7421}
api_a=${NODE_A_API:-127.0.0.1:7420}
api_b=${NODE_B_API:-127.0.0.1:7420}

# Started as root only to hand the fresh volumes to the node's user; the
# rest runs as that user.
if [ "$(id -u)" = 0 ] && id curbside >/dev/null 2>&1; then
    chown curbside:curbside "$council" "$a" "$b"
    exec setpriv --reuid=curbside --regid=curbside --init-groups sh "$0" "$@"
fi

if [ -f "$a/node.toml" ] && [ -f "$b/node.toml" ]; then
    echo "the federation is set up already"
    exit 0
fi

# The root (CURBSIDE_PASSPHRASE encrypts its key).
[ -f "$council/genesis.json" ] ||
    curbside network new --name "Curbside compose" --out "$council"

# Two nodes: B dials A at start, and A dials B (its bootstrap line, which
# node init writes empty, names B once B's key exists).
curbside node init --genesis "$council/genesis.json" --data "$a" \
    --api "$api_a" --listen "/ip4/0.0.0.0/tcp/$p2p_a"
curbside node init --genesis "$council/genesis.json" --data "$b" \
    --api "$api_b" --listen "/ip4/0.0.0.0/tcp/$p2p_b" \
    --bootstrap "$(curbside node address --data "$a" --host "$host_a")"
addr_b=$(curbside node address --data "$b" --host "$host_b")
sed -i "s|^bootstrap = \[\]|bootstrap = [\"$addr_b\"]|" "$a/node.toml"
grep -q "$addr_b" "$a/node.toml"

# Each node's charter, stored at the node itself: peers ask a node for its
# charter when they connect, and admit it once they have checked it.
charter() { # DATA API INSTITUTION
    curbside node run --data "$1" >"$1/init.log" 2>&1 &
    node=$!
    curbside node status --data "$1" --wait-peers 0 >/dev/null
    curbside charter --root-key "$council/root.key" --node "$(curbside node key --data "$1")" \
        --institution "$3" --verify GB --valid-days 365 --submit-to "http://$2"
    kill -TERM "$node"
    wait "$node"
}
charter "$a" "$api_a" "Compose Hospital A"
charter "$b" "$api_b" "Compose Hospital B"
echo "the federation is set up: start node-a and node-b"
