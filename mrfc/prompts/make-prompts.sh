#!/bin/sh
# make-prompts.sh LIST OUTDIR [RTPUE] - the lab's announcements as 8 kHz 16-bit mono WAV files
#
# Each line "name|text" of LIST becomes OUTDIR/name.wav, spoken by espeak-ng and converted
# by sox. Without espeak-ng or sox (mk/deps.sh installs both) each prompt is a 2 s sine of
# its own frequency written by RTPUE (build/bin/rtpue gen-wav), so that the MRF still has
# real audio to play; the script says so.
#
# SPDX-License-Identifier: BSD-2-Clause
set -eu

list=$1
out=$2
rtpue=${3:-}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

speech=1
if ! command -v espeak-ng >/dev/null 2>&1 || ! command -v sox >/dev/null 2>&1; then
    speech=0
    echo "make-prompts: espeak-ng or sox missing (mk/deps.sh installs them):" \
        "the prompts are tones instead of speech" >&2
fi

hz=400
grep -v '^#' "$list" | grep '|' | while IFS='|' read -r name text; do
    hz=$((hz + 100))
    if [ $speech = 1 ]; then
        espeak-ng -v en-us -s 150 -w "$tmp/$name.raw.wav" "$text"
        # 8 kHz mono 16-bit, a telephone band, the level of a prompt (peaks at -3 dBFS)
        sox "$tmp/$name.raw.wav" -r 8000 -c 1 -b 16 "$tmp/$name.wav" \
            highpass 300 lowpass 3400 norm -3
    elif [ -n "$rtpue" ]; then
        "$rtpue" gen-wav "$tmp/$name.wav" --tone $hz --seconds 2
    else
        echo "make-prompts: no espeak-ng/sox and no rtpue to write $name.wav" >&2
        exit 1
    fi
    mv "$tmp/$name.wav" "$out/$name.wav"
done
