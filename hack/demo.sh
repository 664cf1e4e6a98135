#!/usr/bin/env bash
# The end-to-end walkthrough arrives with issue #8.
echo "make demo: not implemented yet (issue #8: the walkthrough end to end)" >&2
exit 1
