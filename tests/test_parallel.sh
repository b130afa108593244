#!/bin/sh
# tests/test_parallel.sh: the "beyond one machine" recipe of bench/README.md,
# run on this machine only.
#
# In:  $1 (or $SMP_CLI) the smpmatch command, $2 (or $SMP_SOURCE_DIR) the
#      source tree (its samples/ are the photos).
# Out: exit 0 when GNU parallel, given the 9 samples and one broken file,
#      prints the same JSON Lines as one smpmatch call over the same files;
#      1 with a message when it does not; 77 (ctest's SKIP_RETURN_CODE) when
#      GNU parallel is not installed.
# Not: a test across hosts: ":" is GNU parallel's name for the local
#      machine, so -S : runs the recipe's code path without ssh.
#
# The JSON is checked with perl's JSON::PP (a core module): GNU parallel is
# written in perl, so perl is there whenever this test runs.
set -u

cli=${1:-${SMP_CLI:-}}
src=${2:-${SMP_SOURCE_DIR:-}}
if [ -z "$cli" ] || [ -z "$src" ]; then
    echo "usage: tests/test_parallel.sh SMPMATCH SOURCE_DIR (or SMP_CLI and SMP_SOURCE_DIR)" >&2
    exit 2
fi
if ! command -v parallel >/dev/null 2>&1; then
    echo "SKIP: GNU parallel is not installed (Debian package parallel; tools/setup.sh test installs it)"
    exit 77
fi
if ! parallel --version 2>/dev/null | grep -q "GNU parallel"; then
    echo "SKIP: the parallel on PATH is not GNU parallel (moreutils has one of that name)"
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/smp-parallel.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
# A user's ~/.parallel/config could change what parallel does: not here.
HOME=$tmp
export HOME

fail() {
    echo "FAIL: $*"
    exit 1
}

# The 9 samples in a fixed order, the broken file in the middle; its name
# has a space, which parallel must quote when it builds the command line.
printf 'this is a consult note, not a photo\n' >"$tmp/broken photo.jpg"
n=0
set --
for f in "$src"/samples/*.jpg "$src"/samples/*.png; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    [ "$n" -eq 5 ] && set -- "$@" "$tmp/broken photo.jpg"
    set -- "$@" "$f"
done
[ "$n" -eq 9 ] || fail "expected the 9 samples in $src/samples, found $n"
printf '%s\n' "$@" >"$tmp/inputs.txt"

# One smpmatch call over every file: the reference.
"$cli" -q --format json "$@" >"$tmp/one.jsonl" 2>"$tmp/one.err"
st=$?
[ "$st" -eq 1 ] || fail "smpmatch over the 10 files exited $st, want 1 (one photo failed): $(cat "$tmp/one.err")"

# The recipe: one smpmatch per photo, output in input order. GNU parallel
# exits with the number of jobs that failed: 1 here.
parallel -S : --keep-order "$cli" -q --format json {} ::: "$@" >"$tmp/par.jsonl" 2>"$tmp/par.err"
st=$?
[ "$st" -eq 1 ] || fail "parallel -S : exited $st, want 1 (one job failed): $(cat "$tmp/par.err")"

# The same with the file list on standard input, NUL-separated, as
# `find ... -print0 | parallel -0 ...` gives it.
tr '\n' '\0' <"$tmp/inputs.txt" |
    parallel -0 -S : --keep-order "$cli" -q --format json {} >"$tmp/par0.jsonl" 2>"$tmp/par0.err"
st=$?
[ "$st" -eq 1 ] || fail "parallel -0 -S : exited $st, want 1: $(cat "$tmp/par0.err")"

perl -MJSON::PP -e '
    use strict;
    use warnings;
    my ($inputs, $one, $par, $par0) = @ARGV;
    my $json = JSON::PP->new->canonical;
    sub slurp { open(my $f, "<:raw", $_[0]) or die "cannot read $_[0]: $!\n"; local $/; my $s = <$f>; $s }
    sub records {
        my ($path) = @_;
        my $text = slurp($path);
        die "$path: does not end with a newline (half a line)\n" if length($text) && substr($text, -1) ne "\n";
        my @recs;
        my $i = 0;
        for my $line (split /\n/, $text) {
            $i++;
            my $r = eval { $json->decode($line) };
            die "$path line $i is not JSON: $line\n" unless $r && ref $r eq "HASH";
            push @recs, $r;
        }
        return \@recs;
    }
    my @files = split /\n/, slurp($inputs);
    my %ref = (one => records($one), par => records($par), par0 => records($par0));
    for my $k (sort keys %ref) {
        my $recs = $ref{$k};
        die sprintf("%s: %d records for %d inputs\n", $k, scalar @$recs, scalar @files) if @$recs != @files;
        for my $i (0 .. $#files) {
            my $r = $recs->[$i];
            my $f = $files[$i];
            die "$k record $i is for \"$r->{file}\", want \"$f\" (input order)\n" unless ($r->{file} // "") eq $f;
            if ($f =~ /broken photo/) {
                die "$k: the broken file has status \"$r->{status}\", want \"error\"\n" unless $r->{status} eq "error";
                my $msg = ($r->{error} // {})->{message} // "";
                die "$k: the broken file has no error message naming it: \"$msg\"\n" unless $msg =~ /broken photo/;
            } else {
                die "$k: $f has status \"$r->{status}\", want \"ok\"\n" unless $r->{status} eq "ok";
            }
        }
    }
    for my $k (qw(par par0)) {
        for my $i (0 .. $#files) {
            my ($a, $b) = ($json->encode($ref{one}[$i]), $json->encode($ref{$k}[$i]));
            die "$k record $i differs from the single smpmatch call:\n  $a\n  $b\n" if $a ne $b;
        }
    }
' "$tmp/inputs.txt" "$tmp/one.jsonl" "$tmp/par.jsonl" "$tmp/par0.jsonl" || fail "see above"

echo "ok: parallel -S : gives the same $((n + 1)) JSON Lines records, in input order, as one smpmatch call"
exit 0
