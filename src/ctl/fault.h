/*
 * Named fault points, for the crash tests (tests/ctl/cli_test.sh "crash").
 *
 * At each point where a crash matters (between creating a vTPM file and committing its
 * registry row, between destroying a key and removing a file) vtpmctl calls
 * ctl_fault("name"). When the environment variable VTPMCTL_FAULT names that point, the
 * process kills itself with SIGKILL there: no handler, no cleanup, exactly like a crash or a
 * power cut as far as the data dir is concerned. "name@N" fires on the N-th pass only (for
 * create-vms --count N). Without the variable the call does nothing. The only effect a fault
 * point can have is that this process dies; it never changes what is written.
 *
 * ctl_fault_fail("name") is a failure point: when VTPMCTL_FAULT is "fail:name" (or
 * "fail:name@N"), it returns -EIO and the caller takes its error path as if the operation
 * there (a file creation, a commit) had failed; otherwise it returns 0.
 */
#ifndef VTPM_CTL_FAULT_H
#define VTPM_CTL_FAULT_H

void ctl_fault(const char *point);
int ctl_fault_fail(const char *point);

#endif
