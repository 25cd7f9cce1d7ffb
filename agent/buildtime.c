/*
 * buildtime — when this agent was built (CMake configure time, CERTFLOW_BUILD_TIME in Unix
 * seconds, set on this file alone so that a new configure recompiles nothing else). A device
 * clock before it is clearly wrong (spec/cli.md "Clocks").
 */
#include "cycle.h"

#ifndef CERTFLOW_BUILD_TIME
#define CERTFLOW_BUILD_TIME 1735689600 /* 2025-01-01: a floor when the build gave none */
#endif

int64_t agent_build_time(void)
{
	return (int64_t)CERTFLOW_BUILD_TIME;
}
