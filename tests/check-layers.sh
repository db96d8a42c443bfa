#!/bin/sh
# SPDX-License-Identifier: MIT
# The layering rules of DESIGN.md, checked on #include lines:
#   hal/      includes nothing of ours but hal/
#   drivers/  includes hal/ and drivers/ only
#   src/      includes drivers only through class headers (drivers/<class>/<class>.h)
#   boards/   holds no code
set -u
v=$(
	grep -Hn '#include "' hal/*.[ch] | grep -v '"hal/' | sed 's/$/  <- hal\/ may include only hal\//'
	grep -Hn '#include "' drivers/*/*.[ch] | grep -Ev '"(hal|drivers)/' |
		sed 's/$/  <- drivers\/ may include only hal\/ and drivers\//'
	grep -Hn '#include "drivers/' src/*.[ch] | grep -Ev '"drivers/([a-z]+)/\1\.h"' |
		sed 's/$/  <- src\/ sees drivers only through <class>\/<class>.h/'
	find boards -name '*.[ch]' | sed 's/$/  <- code under boards\//'
)
if [ -n "$v" ]; then
	echo "layers: violations:"
	echo "$v"
	exit 1
fi
echo "layers: ok"
