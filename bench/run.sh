#!/usr/bin/env bash
# bench/run.sh — how fast nets loads, plans and rolls back routes, next to `ip -batch`.
#
# usage: sudo bench/run.sh [-r REPS] [N ...]      (default: -r 3, N = 10000 100000)
#
# In one run, in a fresh network namespace (the script re-executes itself under
# `unshare --net --mount --propagation private`, with private tmpfs on /run/nets,
# /run/netns and /run/wireguard, so nothing reaches the host's network or journal),
# for each N and each repetition it times, on N blackhole /24 routes in table 100, with the
# nets recipe written two ways ("lines": one statement per route, as a generated recipe
# would be; "loop": a for loop over range(N) with subnet()):
#   ip add      ip -batch adding them
#   ip del      ip -batch deleting them
#   nets add    nets run of the recipe adding them (transactional, journaled)
#   nets plan   nets plan of that recipe against the table holding them (must say
#               no change: exit 0 with --detailed-exitcode, no `+` line)
#   rollback    nets run of the recipe adding them and then `fail`ing: the time from
#               its last change line (printed as the last route is applied) to its
#               exit, i.e. the rollback of N routes plus printing the error
# and prints the medians, the nets/ip ratios, routes/s, CPU seconds and peak RSS
# (getrusage of the child, via bench/measure). See bench/README.md.
set -euo pipefail

reps=3
if [ "${1:-}" = "-r" ]; then reps=$2; shift 2; fi
[ $# -gt 0 ] || set -- 10000 100000

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

if [ -z "${NETS_BENCH_SANDBOX:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "bench/run.sh: run as root (it sandboxes itself in new network and mount namespaces)" >&2; exit 2; }
	command -v unshare >/dev/null || { echo "bench/run.sh: needs unshare (util-linux)" >&2; exit 2; }
	for d in /run/nets /run/netns /run/wireguard; do mkdir -p "$d"; done
	export NETS_BENCH_SANDBOX=1
	exec unshare --net --mount --propagation private "$0" -r "$reps" "$@"
fi

# --- inside the sandbox ---
for d in /run/nets /run/netns /run/wireguard; do mount -t tmpfs nets-bench "$d"; done
ip link set lo up
if [ "$(ip -o link show | wc -l)" != 1 ]; then
	echo "bench/run.sh: not in a fresh network namespace (links: $(ip -o link show | cut -d: -f2 | tr -d ' ' | tr '\n' ' ')); refusing" >&2
	exit 2
fi

work=$(mktemp -d /tmp/nets-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
(cd "$repo" && go build -o "$work/nets" ./cmd/nets && go build -o "$work/measure" ./bench/measure)
nets=$work/nets
measure=$work/measure

count() { ip route show table 100 | wc -l; }
die() { echo "bench/run.sh: $*" >&2; exit 1; }

# run [-pipe] NAME CMD...: time CMD into $work/res.NAME (appending "wall user sys rss exit last_stdout").
run() {
	local pipe=
	if [ "$1" = -pipe ]; then pipe=-pipe; shift; fi
	local name=$1; shift
	"$measure" $pipe -stdout "$work/out" -stderr "$work/err" -- "$@" >>"$work/res.$name"
}
lastexit() { tail -1 "$work/res.$1" | awk '{print $5}'; }

# median FILE COLUMN
median() { awk -v c="$2" '{print $c}' "$1" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
maxcol() { awk -v c="$2" 'BEGIN{m=0} $c>m{m=$c} END{print m}' "$1"; }

echo "# nets bulk benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $reps repetitions, medians"
echo "# nets $("$nets" version 2>/dev/null | head -1), $(ip -V)"
echo
printf '| N | recipe | ip add s | nets add s | nets/ip add | nets add routes/s | ip del s | rollback s | rollback/ip del | plan s (no change) | peak RSS MB add / plan / fail | CPU s add (user+sys) |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|\n'

for n in "$@"; do
	rm -f "$work"/res.*
	# The same N routes written out one per line ("lines"), and made by a loop ("loop").
	awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "route blackhole %d.%d.%d.0/24 table 100\n", 10 + int(i / 65536), int(i / 256) % 256, i % 256 }' >"$work/lines.nets"
	printf 'for i in range(%d) <\n    route blackhole subnet(10.0.0.0/7, 17, $i) table 100\n>\n' "$n" >"$work/loop.nets"
	for form in lines loop; do
		{ cat "$work/$form.nets"; echo 'fail "bench: roll back"'; } >"$work/$form-fail.nets"
	done
	sed 's/^route blackhole/route add blackhole/' "$work/lines.nets" >"$work/ipadd.batch"
	sed 's/^route blackhole/route del/' "$work/lines.nets" >"$work/ipdel.batch"

	for rep in $(seq "$reps"); do
		run ipadd ip -batch "$work/ipadd.batch"
		[ "$(lastexit ipadd)" = 0 ] && [ "$(count)" = "$n" ] || die "ip -batch add failed: $(cat "$work/err")"
		run ipdel ip -batch "$work/ipdel.batch"
		[ "$(lastexit ipdel)" = 0 ] && [ "$(count)" = 0 ] || die "ip -batch del failed: $(cat "$work/err")"

		for form in lines loop; do
			run "add-$form" "$nets" run "$work/$form.nets"
			[ "$(lastexit "add-$form")" = 0 ] && [ "$(count)" = "$n" ] || die "nets run $form.nets failed: $(cat "$work/err")"

			run "plan-$form" "$nets" plan --detailed-exitcode "$work/$form.nets"
			[ "$(lastexit "plan-$form")" = 0 ] || die "nets plan $form.nets against the loaded table did not report no change (exit $(lastexit "plan-$form")): $(head -3 "$work/out") $(cat "$work/err")"
			! grep -q '^[+~-] ' "$work/out" || die "nets plan printed changes: $(grep -m3 '^[+~-] ' "$work/out")"

			ip -batch "$work/ipdel.batch"
			[ "$(count)" = 0 ] || die "cleanup failed"

			run -pipe "fail-$form" "$nets" run "$work/$form-fail.nets"
			[ "$(lastexit "fail-$form")" = 1 ] || die "the failing recipe exited $(lastexit "fail-$form"): $(cat "$work/err")"
			grep -q "rolled back: $n changes undone" "$work/err" || die "the failing run did not roll back $n changes: $(tail -3 "$work/err")"
			[ "$(count)" = 0 ] || die "rollback left $(count) routes"
			[ ! -e /run/nets/journal ] || die "rollback left a journal"
		done
	done

	ipadd=$(median "$work/res.ipadd" 1)
	ipdel=$(median "$work/res.ipdel" 1)
	for form in lines loop; do
		add=$(median "$work/res.add-$form" 1)
		plan=$(median "$work/res.plan-$form" 1)
		awk '{print $1 - $6}' "$work/res.fail-$form" >"$work/res.rollback-$form"
		rb=$(median "$work/res.rollback-$form" 1)
		awk '{print $2 + $3}' "$work/res.add-$form" >"$work/res.cpu-$form"
		cpu=$(median "$work/res.cpu-$form" 1)
		awk -v n="$n" -v form="$form" -v ipadd="$ipadd" -v ipdel="$ipdel" -v add="$add" -v plan="$plan" -v rb="$rb" -v cpu="$cpu" \
			-v rssadd="$(maxcol "$work/res.add-$form" 4)" -v rssplan="$(maxcol "$work/res.plan-$form" 4)" -v rssfail="$(maxcol "$work/res.fail-$form" 4)" \
			'BEGIN { printf "| %d | %s | %.3f | %.3f | **%.2f** | %.0f | %.3f | %.3f | **%.2f** | **%.3f** | %.0f / %.0f / %.0f | %.2f |\n",
				n, form, ipadd, add, add / ipadd, n / add, ipdel, rb, rb / ipdel, plan, rssadd / 1024, rssplan / 1024, rssfail / 1024, cpu }'
	done
	if [ -n "${NETS_BENCH_RAW:-}" ]; then
		for f in ipadd ipdel add-lines plan-lines fail-lines add-loop plan-loop fail-loop; do
			echo "# raw $n $f (wall user sys maxrss_kb exit last_stdout):"
			sed 's/^/#   /' "$work/res.$f"
		done
	fi
done
echo
echo "# targets at 100k: nets/ip add <= 0.5, rollback/ip del <= 0.75, plan <= 1 s reporting no change, peak RSS <= 200 MB"
echo "# load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
