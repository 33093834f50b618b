# Sourced by the .ci scripts: one way to install Debian packages they need.
# apt_install PKG...: updates the lists and installs PKG, bounded in time; as root directly,
# otherwise through `sudo -n` (never waits for a password: CI has no stdin).
apt_install() {
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo -n)
  echo "installing $*"
  timeout 600 "${sudo[@]}" apt-get update -qq
  timeout 600 "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
