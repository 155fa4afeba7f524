# Sourced by .ci/blender-roots.sh and the .ci/blender-X.Y wrappers: where the Debian roots that hold the newer
# Blenders live, and which host folders must be bind-mounted into them so a path means the same inside and out.

BLENDER_ROOTS_DIR=${BLENDER_ROOTS_DIR:-/var/cache/blender-sidecar/roots}

# The repository lives in /work (with ../shared beside it), but CI clones it into a folder of its own: that folder's
# parent is mounted too when none of the usual mounts already covers it.
blender_mounts() {
  local fixed=(/dev /dev/pts /dev/shm /proc /sys /tmp /root /work) m
  local parent; parent=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
  printf '%s\n' "${fixed[@]}"
  for m in /tmp /root /work; do [[ $parent == "$m" || $parent == "$m"/* ]] && return 0; done
  [[ $parent == / ]] || printf '%s\n' "$parent"
}

# True when HOST_DIR is bound at ROOT_DIR now: the same directory, not only a mount point. A bind of a folder that was
# deleted and made again (CI clones into a fresh /check/work each run) stays a mount point of the deleted one, and
# everything under it is invisible inside the root.
bound_here() { # HOST_DIR ROOT_DIR
  mountpoint -q "$2" && [[ $(stat -c %d:%i "$1" 2>/dev/null) == $(stat -c %d:%i "$2" 2>/dev/null) ]]
}

# Runs /usr/bin/blender of the root for SUITE with the caller's arguments, environment, working directory and open
# file descriptors (the sidecar talks to its workers over fd 3), or says what to run when the root is not ready.
blender_chroot_exec() {
  local suite=$1 root=$BLENDER_ROOTS_DIR/$1 m; shift
  if [[ ! -e $root/.complete ]]; then
    echo "${0##*/}: no Debian $suite root at $root: run .ci/blender-roots.sh (as root) first." >&2; exit 1
  fi
  while read -r m; do
    bound_here "$m" "$root$m" || {
      echo "${0##*/}: $m is not mounted in $root (mounts go at reboot, and a folder made again needs its mount made again): run .ci/blender-roots.sh (as root) again." >&2
      exit 1
    }
  done < <(blender_mounts)
  exec chroot "$root" /bin/sh -c '
    cd "$1" 2>/dev/null || { echo "$0: working directory $1 is not visible inside the chroot" >&2; exit 1; }
    shift; exec /usr/bin/blender "$@"' "${0##*/}" "$PWD" "$@"
}
