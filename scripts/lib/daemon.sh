# A detached local server recorded by a pid file in its data dir, for registry/*.sh and
# temporal/*.sh (sourced; defines functions only). A recorded pid counts only while that
# process is alive and its command line matches the server's pattern: pids get reused.

# daemon_is PID PATTERN: PID is alive and its command line matches the glob PATTERN.
daemon_is() {
  [[ "$1" =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null \
    && [[ "$(ps -o args= -p "$1" 2>/dev/null || true)" == $2 ]]
}

# daemon_recorded_pid PIDFILE: the pid recorded in PIDFILE; fails if there is none.
daemon_recorded_pid() { [ -s "$1" ] && head -n1 "$1" | tr -dc '0-9'; }

# daemon_wait PID PATTERN TIMEOUT INTERVAL CHECK...: polls CHECK every INTERVAL seconds until it
# succeeds (0), PID is gone (1) or TIMEOUT seconds pass (1). A live PID whose command line does
# not match (yet) is waited for, not given up on: while it execs the server, /proc shows an empty
# command line for a moment, and a start once failed at once, saying "not healthy after 120s".
daemon_wait() {
  local pid="$1" pattern="$2" deadline=$((SECONDS + $3)) interval="$4"
  shift 4
  while [ "$SECONDS" -lt "$deadline" ]; do
    kill -0 "$pid" 2>/dev/null || return 1
    daemon_is "$pid" "$pattern" && "$@" && return 0
    sleep "$interval"
  done
  return 1
}

# daemon_launch PIDFILE LOG COMMAND...: starts COMMAND detached, appending its output to LOG, and
# prints its pid once recorded in PIDFILE (fails after 5 s without one). setsid + nohup: its own
# session, so it outlives this script and its terminal; the inner bash records its own pid and
# then execs COMMAND, so the pid file holds the server's pid whether or not setsid had to fork.
daemon_launch() {
  local pidfile="$1" log="$2" pid="" launcher=()
  shift 2
  command -v setsid >/dev/null 2>&1 && launcher=(setsid)
  ${launcher[@]+"${launcher[@]}"} nohup bash -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" \
    >> "$log" 2>&1 < /dev/null &
  for _ in $(seq 1 50); do
    pid="$(daemon_recorded_pid "$pidfile" || true)"
    [ -n "$pid" ] && break
    sleep 0.1
  done
  [ -n "$pid" ] && echo "$pid"
}

# daemon_stop WHAT PATTERN GRACE DATA_DIR PIDFILE ADDRFILE: SIGTERM, up to GRACE seconds for a
# clean shutdown, then SIGKILL; removes PIDFILE and ADDRFILE. Nothing running is not an error.
daemon_stop() {
  local what="$1" pattern="$2" grace="$3" data_dir="$4" pidfile="$5" addrfile="$6" pid how=stopped
  pid="$(daemon_recorded_pid "$pidfile" || true)"
  if [ -z "$pid" ] || ! daemon_is "$pid" "$pattern"; then
    echo "$what not running (data dir $data_dir)"
    rm -f "$pidfile" "$addrfile"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + grace))
  while daemon_is "$pid" "$pattern" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  if daemon_is "$pid" "$pattern"; then
    echo "stop.sh: pid $pid ignored SIGTERM for ${grace}s; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do daemon_is "$pid" "$pattern" || break; sleep 0.1; done
    how=killed
  fi
  rm -f "$pidfile" "$addrfile"
  echo "$what $how (pid $pid, data dir $data_dir)"
}

# daemon_stop_command WHAT PATTERN GRACE DATA_DIR NAME ARGS...: a stop.sh, whose ARGS may name
# another data dir with --data-dir; the pid and address files are NAME.pid and NAME.address in it.
daemon_stop_command() {
  local what="$1" pattern="$2" grace="$3" data_dir="$4" name="$5"
  shift 5
  daemon_stop_usage() { echo "usage: $0 [--data-dir D]" >&2; exit 2; }
  while [ $# -gt 0 ]; do
    case "$1" in
      --data-dir) [ $# -ge 2 ] || daemon_stop_usage; data_dir="$2"; shift 2 ;;
      --data-dir=*) data_dir="${1#*=}"; shift ;;
      -h|--help) daemon_stop_usage ;;
      *) echo "stop.sh: unknown argument: $1" >&2; daemon_stop_usage ;;
    esac
  done
  daemon_stop "$what" "$pattern" "$grace" "$data_dir" "$data_dir/$name.pid" "$data_dir/$name.address"
}
