package bench

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"time"
)

// usage is a reading of this process's resource use.
type usage struct {
	at  time.Time
	cpu time.Duration // user + system CPU time of the whole process so far
}

func readUsage() usage { return usage{at: time.Now(), cpu: processCPU()} }

// resetPeakRSS makes the kernel's peak resident set size start again from
// the current one (Linux 4.0 and later), so that peakRSS covers one phase.
// It reports whether it could.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// peakRSS returns the process's peak resident set size in bytes since
// start or since the last resetPeakRSS, from /proc/self/status (VmHWM), or
// else the lifetime peak getrusage reports; 0 if neither is available.
func peakRSS() int64 {
	if kb := procStatusKB("VmHWM:"); kb > 0 {
		return kb << 10
	}
	return maxRSS()
}

// currentRSS returns the resident set size in bytes now (VmRSS), or 0.
func currentRSS() int64 { return procStatusKB("VmRSS:") << 10 }

func procStatusKB(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(field)); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// loadAvg returns the 1-minute load average, or -1 when it is unknown. On a
// shared machine it says how much other work ran alongside a measurement.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}
