// SPDX-License-Identifier: GPL-2.0-only
/*
 * zpool_stress.c - main(): run the stress test on each backend asked for
 *
 * Backends run one after another, each on a fresh pool with the same
 * seed, so their figures compare. Text summaries are printed as each
 * backend finishes; JSON is printed once, at the end, as one document.
 * A wrong byte during a run ends the process at once (exit 1); a failed
 * final check is reported with the rest and also exits 1. The last line
 * (or the JSON's "verdict") says pass or fail; a hang ends the process
 * from the watchdog with "verdict: hang" and exit 1 (watchdog.h).
 */
#include "stress.h"

#include <stdio.h>

int main(int argc, char **argv)
{
	struct stress_result res[STRESS_MAX_BACKENDS];
	struct stress_opts o;
	bool failed = false;
	int err;

	err = stress_parse_options(argc, argv, &o);
	if (err) {
		stress_free_options(&o);
		return err > 0 ? 0 : STRESS_EXIT_USAGE;
	}
	for (size_t i = 0; i < o.nr_backends; i++) {
		if (stress_run_backend(&o, o.backends[i], &res[i]))
			failed = true;
		if (!o.json) {
			stress_report_text(&o, &res[i]);
			fflush(stdout);
		}
	}
	if (o.json)
		stress_report_json(&o, res, o.nr_backends);
	else
		printf("verdict: %s\n", failed ? "fail" : "pass");
	stress_free_options(&o);
	return failed ? STRESS_EXIT_MISMATCH : 0;
}
