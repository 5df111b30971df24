#!/bin/sh
# The image's entrypoint (Dockerfile: /usr/local/bin/helpdesk-entrypoint). A plain file, not a
# heredoc in the Dockerfile, so that every builder takes it (Docker's legacy builder, BuildKit,
# podman/buildah); its mode (0755) is kept in git and set again by the Dockerfile.
#
# 1. $VAR_DIR/static -> this image's collected static files (see the Dockerfile). Idempotent; safe
#    when web, worker and beat start together on one shared volume.
# 2. MIGRATE_ON_START=true (the image's default): `manage.py migrate --noinput` before the server,
#    so that `docker run -e SECRET_KEY=... -e ALLOWED_HOSTS=... helpdesk-ai` serves a migrated
#    database. One container only: where several start together (docker-compose.yml, Kubernetes),
#    set it to false and let the one-shot `migrate` service or Job apply the migrations.
# 3. exec the command (uvicorn by default; gunicorn, celery, or anything given to `docker run`).
set -eu
var_dir="${VAR_DIR:-/app/var}"
target=/app/build/static
link="$var_dir/static"
mkdir -p "$var_dir"
if [ "$(readlink "$link" 2>/dev/null)" != "$target" ]; then
    rm -rf "$link"
    ln -sfn "$target" "$link" 2>/dev/null || true  # another container may have just made it
    if [ "$(readlink "$link" 2>/dev/null)" != "$target" ]; then
        echo "helpdesk-entrypoint: cannot link $link to $target" >&2
        exit 1
    fi
fi

case "${MIGRATE_ON_START:-true}" in
    true | 1 | yes | on)
        echo "helpdesk-entrypoint: manage.py migrate --noinput (MIGRATE_ON_START=false to skip)" >&2
        python /app/manage.py migrate --noinput
        ;;
    false | 0 | no | off | "") ;;
    *)
        echo "helpdesk-entrypoint: MIGRATE_ON_START must be true or false, not '$MIGRATE_ON_START'" >&2
        exit 1
        ;;
esac

exec "$@"
