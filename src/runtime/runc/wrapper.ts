/**
 * The shell wrapper around `runc run`: mounts the in-memory upper layer and the overlay root,
 * makes the gate FIFO the prestart hook waits on, runs the container in the foreground (runc
 * exits with the container's status, 128+N for a signal) and unmounts afterwards, so nothing
 * stays mounted even when kumo itself was killed. Arguments: bundle, layer cache root, overlay
 * lowerdir (relative to the cache root, topmost first), tmpfs size in bytes, runc binary, runc
 * state root, container id.
 */
export const WRAPPER_SCRIPT = `
B=$1; L=$2; LOWER=$3; SIZE=$4; RUNC=$5; ROOT=$6; ID=$7
fail() { echo "kumo: $1" >&2; umount "$B/rootfs" 2>/dev/null; umount "$B/rw" 2>/dev/null; exit 125; }
mkfifo -m 0600 "$B/gate" || fail "could not make the start gate"
mount -t tmpfs -o "size=$SIZE,mode=0755" kumo-rw "$B/rw" || fail "could not mount the in-memory layer"
mkdir -m 0755 "$B/rw/upper" "$B/rw/work" || fail "could not prepare the in-memory layer"
cd "$L" || fail "layer cache $L is missing"
mount -t overlay kumo-root -o "lowerdir=$LOWER,upperdir=$B/rw/upper,workdir=$B/rw/work" "$B/rootfs" || fail "could not mount the image root"
cd /
"$RUNC" --root "$ROOT" run --bundle "$B" --pid-file "$B/pid" "$ID"
rc=$?
umount "$B/rootfs" 2>/dev/null || umount -l "$B/rootfs"
umount "$B/rw" 2>/dev/null || umount -l "$B/rw"
exit $rc
`;

/**
 * The prestart hook: runc has set up namespaces, cgroups and mounts and waits for this to exit
 * before it starts the app, so a container can be created ahead and started by one write.
 */
export function gateHook(fifo: string): { path: string; args: string[] } {
  return { path: '/bin/sh', args: ['sh', '-c', 'read -r go < "$1"', 'kumo-gate', fifo] };
}
