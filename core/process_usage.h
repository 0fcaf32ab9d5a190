// What this process has used so far, for the figures benchmarks and `batch` report beside wall time.
#pragma once

namespace fvlm {

// CPU seconds of the whole process (all threads, user + system). On a shared machine wall time
// includes waits for descheduled threads; CPU time does not.
double process_cpu_seconds();

// The process's peak resident set so far, in MB (getrusage's ru_maxrss: it never goes down).
double peak_rss_mb();

}  // namespace fvlm
