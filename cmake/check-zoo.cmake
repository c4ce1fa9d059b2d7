# SPDX-License-Identifier: GPL-2.0-only
# The zoo's list and its code agree: every bug of zoo/bugs.tsv is an
# `if (ZPOOL_BUG(name))` somewhere in the library's sources, and every
# ZPOOL_BUG(name) in them is listed. A listed bug with no code would build a
# "mutant" identical to the clean code, and the zoo would count it caught
# only by luck; an unlisted one is never run.
cmake_minimum_required(VERSION 3.25)
file(STRINGS ${SOURCE_DIR}/zoo/bugs.tsv lines REGEX "^[a-z0-9_]+\t")
list(TRANSFORM lines REPLACE "\t.*" "")
set(listed ${lines})

file(GLOB_RECURSE sources ${SOURCE_DIR}/zpool/*.c ${SOURCE_DIR}/zpool/*.h
     ${SOURCE_DIR}/backends/*.c ${SOURCE_DIR}/backends/*.h)
list(FILTER sources EXCLUDE REGEX "/zpool/zoo\\.h$") # the macro's own documentation
set(used "")
foreach(f IN LISTS sources)
  file(STRINGS ${f} hits REGEX "ZPOOL_BUG\\([a-z0-9_]+\\)")
  foreach(h IN LISTS hits)
    string(REGEX MATCHALL "ZPOOL_BUG\\([a-z0-9_]+\\)" calls "${h}")
    foreach(c IN LISTS calls)
      string(REGEX REPLACE "ZPOOL_BUG\\(([a-z0-9_]+)\\)" "\\1" name "${c}")
      list(APPEND used ${name})
    endforeach()
  endforeach()
endforeach()
list(REMOVE_DUPLICATES used)

set(errors "")
foreach(b IN LISTS listed)
  if(NOT b IN_LIST used)
    string(APPEND errors "zoo/bugs.tsv lists '${b}' but no source has ZPOOL_BUG(${b})\n")
  endif()
endforeach()
foreach(b IN LISTS used)
  if(NOT b IN_LIST listed)
    string(APPEND errors "ZPOOL_BUG(${b}) is in the sources but not in zoo/bugs.tsv\n")
  endif()
endforeach()
if(errors)
  message(FATAL_ERROR "${errors}")
endif()
list(LENGTH listed n)
message(STATUS "zoo: ${n} bugs listed, each with its code")
