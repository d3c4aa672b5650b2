//go:build !unix

package bench

import "time"

// processCPU is unknown here: CPU figures read 0.
func processCPU() time.Duration { return 0 }

// maxRSS is unknown here.
func maxRSS() int64 { return 0 }
