complete -c systrace-top -l duration -d 'Stop after SECS seconds and print a summary' -r
complete -c systrace-top -l interval -d 'Seconds between rate snapshots' -r
complete -c systrace-top -s p -l pid -d 'Only this process (its threads included). With --trace: a process to trace, as strace -p (may be repeated)' -r
complete -c systrace-top -l comm -d 'Only processes whose command name (comm, 15 bytes at most) is NAME' -r
complete -c systrace-top -l cgroup -d 'Only processes in this cgroup v2 or below it (a container): a path under /sys/fs/cgroup, as /proc/PID/cgroup gives it' -r
complete -c systrace-top -l metrics -d 'Serve metrics for Prometheus at http://ADDR/metrics ([HOST:]PORT: loopback when only a port is given; port 0 picks one, said on stderr): runs without the UI, beside --json\'s records if asked' -r
complete -c systrace-top -l record -d 'Record what every view shows to FILE, without the UI (stop with Ctrl-C or --duration): zstd-compressed blocks, readable up to the last one written if the recording is cut. In the UI, R records too' -r -F
complete -c systrace-top -l record-size -d 'With --record: when FILE reaches SIZE (bytes, or with K, M, G), it becomes FILE.1 (replacing the one before) and a new FILE starts; 0: never. Default 1G' -r
complete -c systrace-top -l replay -d 'Replay a recording in the UI (pause, speed, jump), or with --json as the JSON lines a live run writes. Needs no root and no BPF' -r -F
complete -c systrace-top -s e -d 'With --trace: trace=SET (syscall names, %file, %process, %network, %signal, %desc, %memory…, !SET for all but SET), signal=SET (the signals shown: names, numbers, !SET)' -r
complete -c systrace-top -s o -d 'With --trace: write the trace to FILE instead of stderr' -r -F
complete -c systrace-top -s s -d 'With --trace: show at most N bytes of each string or buffer (strace -s; buffers are read up to 255)' -r
complete -c systrace-top -l generate-assets -d 'Write the man page and shell completions, made from these flags, into DIR (how assets/ is made: `make assets`)' -r -F
complete -c systrace-top -l json -d 'Write JSON lines to stdout (exec, fork, exit, open, rates, lost, summary)'
complete -c systrace-top -l errors -d 'Count every process\'s failed syscalls per syscall and errno from the start (`errors` in --json\'s rates records; in the UI, view 4 counts only while open without it). Each syscall\'s exit then costs a little'
complete -c systrace-top -l trace -d 'Print every syscall of --pid PID, or of the command after --, as strace does (on stderr; JSON lines on stdout with --json)'
complete -c systrace-top -s f -l follow -d 'With --trace: the processes and threads it forks too, to their end (strace -f)'
complete -c systrace-top -s y -d 'With --trace: name the file behind each fd, when known (strace -y)'
complete -c systrace-top -s T -d 'With --trace: the time spent in each call (strace -T)'
complete -c systrace-top -s t -d 'With --trace: lead each line with the time; -tt with microseconds, -ttt as seconds since the epoch'
complete -c systrace-top -s c -d 'With --trace: a table of calls, errors and time per syscall instead of the trace (strace -c)'
complete -c systrace-top -s C -d 'With --trace: the trace, then the table of -c'
complete -c systrace-top -s q -d 'With --trace: no attach and detach messages; -qq: no exit lines'
complete -c systrace-top -s h -l help -d 'Print help'
complete -c systrace-top -s V -l version -d 'Print version'
