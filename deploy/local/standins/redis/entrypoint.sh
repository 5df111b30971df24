#!/bin/sh
# LOCAL TEST STAND-IN for redis:7 (see the Dockerfile). Without a configuration file Redis listens
# on every address but, in protected mode, answers only loopback clients: turn it off, as the
# official image's entrypoint does, so that the other containers of the network reach it.
set -eu
if [ "${1:-}" = redis-server ]; then
    shift
    exec redis-server --protected-mode no "$@"
fi
exec "$@"
