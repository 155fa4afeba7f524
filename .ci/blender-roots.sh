#!/usr/bin/env bash
# Builds, or reuses, the Debian roots that hold Blender 4.3 (trixie) and 5.2 (sid) for .ci/blender-4.3 and
# .ci/blender-5.2, and makes their bind mounts, which a reboot (or a fresh CI machine) drops. Run as root; when the
# roots exist it takes seconds. Roots live in ${BLENDER_ROOTS_DIR:-/var/cache/blender-sidecar/roots}/<suite>.
# Never `rm -rf` that folder while it is mounted: /work, /root and /tmp are bound into it.
set -euo pipefail
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/blender-chroot.sh"

# Blender only dlopens libGL/libEGL, so --no-install-recommends leaves them out: without them EEVEE, Workbench and
# the GUI abort at start ("Couldn't open libEGL.so.1"); Mesa's drivers render in software here.
GL="libegl1 libgl1 libgl1-mesa-dri"
declare -A PACKAGES=(
  [trixie]="blender python3-numpy $GL"
  # Without these, 5.2's extension system (bl_pkg) fails to register and `--command extension` is missing.
  [sid]="blender python3-numpy python3-cattr python3-requests $GL"
)

# Debian's own archive as apt is configured here (deb822 .sources or one-line .list), so a mirror or cache that the
# machine is set up for is used too.
debian_mirror() {
  local f files=() codename; codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] && files+=("$f")
  done
  awk -v c="$codename" '
    function flush() { if (s && u && !off && !found) { print u; found = 1 } u = ""; s = 0; off = 0 }
    FNR == 1 || /^[ \t]*$/ { flush() }
    /^URIs:/ { u = $2 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == c) s = 1 }
    /^Enabled:[ \t]*no/ { off = 1 }
    /^deb[ \t]/ { sub(/^deb[ \t]+\[[^]]*\]/, "deb"); if ($3 == c && !found) { print $2; found = 1 } }
    END { flush() }' "${files[@]}"
}

# Unmounts everything under a root, deepest first, and fails if anything is left: a half-built root is deleted only
# when rm can no longer reach the host's /work, /root or /tmp through it.
unmount_under() {
  local m
  awk -v r="$1/" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m"; done
  ! awk -v r="$1/" 'index($5, r) == 1 { f = 1 } END { exit !f }' /proc/self/mountinfo
}

mount_all() {
  local m
  while read -r m; do
    bound_here "$m" "$1$m" && continue
    # A mount of a folder since deleted (CI's clone of the last run) hides the new one: drop it first.
    if mountpoint -q "$1$m"; then umount -l "$1$m"; fi
    mkdir -p "$1$m"
    mount --bind "$m" "$1$m"
  done < <(blender_mounts)
}

install_packages() { # ROOT SUITE
  chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get -q update
  chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get -q -y install --no-install-recommends ${PACKAGES[$2]}
  chroot "$1" apt-get clean
  # The marker comes last, so a run interrupted anywhere before builds this root again.
  echo "${PACKAGES[$2]}" >"$1/.complete"
}

new_root() { # ROOT SUITE
  if [[ -e $1 ]]; then
    unmount_under "$1" || { echo "$0: cannot unmount everything under $1; not removing it" >&2; exit 1; }
    rm -rf --one-file-system "$1"
  fi
  command -v debootstrap >/dev/null ||
    apt-get install -y -q debootstrap || { apt-get update -q && apt-get install -y -q debootstrap; }
  local mirror=${DEBIAN_MIRROR:-$(debian_mirror)}
  [[ -n $mirror ]] || { echo "$0: no Debian mirror in apt's sources; set DEBIAN_MIRROR" >&2; exit 1; }
  debootstrap --variant=minbase "$2" "$1" "$mirror"
  # debootstrap normally copies it; apt inside needs it to resolve the mirror.
  [[ -s $1/etc/resolv.conf ]] || cp /etc/resolv.conf "$1/etc/resolv.conf"
  # Blender lists mounted file systems for its file browser through it, and warns at every start-up without it.
  ln -sfn ../proc/self/mounts "$1/etc/mtab"
  # Where the host's apt accepts an expired Release (a frozen snapshot mirror: sid's Release is only valid a week),
  # the root's apt must too.
  apt-config dump | grep -E '^Acquire::Check-(Valid-Until|Date) ' >"$1/etc/apt/apt.conf.d/99host-release-checks" || true
}

mkdir -p "$BLENDER_ROOTS_DIR"
# Another run (CI, another engineer) may be building the same roots right now.
exec 9>"$BLENDER_ROOTS_DIR/.lock"
flock 9

for suite in trixie sid; do
  root=$BLENDER_ROOTS_DIR/$suite start=$SECONDS
  [[ -e $root/.complete ]] || new_root "$root" "$suite"
  mount_all "$root"
  # A changed package list is installed into the existing root rather than rebuilding it.
  [[ $(cat "$root/.complete" 2>/dev/null) == "${PACKAGES[$suite]}" ]] || install_packages "$root" "$suite"
  (( SECONDS - start < 5 )) || echo "$suite root ready in $((SECONDS - start)) s"
done

for suite in trixie sid; do
  echo "$suite: $(chroot "$BLENDER_ROOTS_DIR/$suite" blender --version 2>/dev/null | sed -n 1p)"
done
