#!/bin/sh
# A CLI for the stress bench: records its start (job id and pid) in $STRESS_STARTS, then prints
# 20 numbered lines. A shell script, so that 1,200 jobs cost little CPU beside adsdash's own.
echo "$ADSDASH_JOB_ID $$" >> "$STRESS_STARTS"
i=1
while [ "$i" -le 20 ]; do
    echo "line $i"
    [ "$i" -eq 10 ] && sleep 0.2  # mid-job, so that killed workers leave running jobs behind
    i=$((i + 1))
done
