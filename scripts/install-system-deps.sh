#!/bin/sh
# Debian packages the test suite needs: PostgreSQL (storage tests run on it too) and
# Chromium with its driver (the dashboard's browser tests). Installs only what is missing.
set -e
missing=""
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v chromedriver >/dev/null 2>&1 || missing="$missing chromium-driver"
command -v runuser >/dev/null 2>&1 || missing="$missing util-linux"
if [ -n "$missing" ]; then
  echo "installing Debian packages:$missing"
  SUDO=""
  [ "$(id -u)" = "0" ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
