/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * zoo.h - the switch behind the injected bugs of zoo/
 *
 * Every injected bug is an ordinary branch on a compile-time constant:
 *
 *	if (ZPOOL_BUG(size_rounds_down))
 *		return size >> CHUNK_SHIFT;
 *
 * ZPOOL_BUG(name) is 1 in the build configured with -DZPOOL_BUG=name (CMake
 * then defines ZPOOL_BUG_name to 1) and 0 in every other build. So every
 * build compiles every mutant's code: a mutant that stops compiling, or
 * that unbalances a brace, breaks the normal build, and clang-format and the
 * warnings see real code. The optimiser drops the dead arm, so the clean
 * build runs the clean code only.
 *
 * The macro tells a name defined to 1 from an undefined one as the kernel's
 * IS_ENABLED() does: pasting "ZPOOL_BUG_ON_" onto the expansion of
 * ZPOOL_BUG_name makes "ZPOOL_BUG_ON_1" (which expands to "0,", shifting the
 * argument list) only when the bug is defined to 1.
 */
#ifndef ZPOOL_ZOO_H
#define ZPOOL_ZOO_H

#define ZPOOL_BUG_ON_1			    0,
#define zpool_bug_second(ignored, val, ...) val
#define zpool_bug_pick(arg_or_junk)	    zpool_bug_second(arg_or_junk 1, 0, 0)
#define zpool_bug_paste(val)		    zpool_bug_pick(ZPOOL_BUG_ON_##val)
#define zpool_bug_expand(val)		    zpool_bug_paste(val)

/* ZPOOL_BUG() - 1 if this build is the zoo mutant @name, else 0. */
#define ZPOOL_BUG(name) zpool_bug_expand(ZPOOL_BUG_##name)

#endif /* ZPOOL_ZOO_H */
