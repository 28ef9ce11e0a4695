//go:build unix

package dirlock

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAcquire(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir, "pretrain")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir, "pretrain")
	want := fmt.Sprintf("in use by another pretrain (PID %d", os.Getpid())
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("second Acquire: %v, want an error containing %q", err, want)
	}
	l.Unlock()
	if _, err := os.Stat(filepath.Join(dir, ".pretrain.lock")); !os.IsNotExist(err) {
		t.Errorf("lock file after Unlock: %v", err)
	}
	l2, err := Acquire(dir, "pretrain")
	if err != nil {
		t.Fatalf("Acquire after Unlock: %v", err)
	}
	l2.Unlock()
}

// A holder killed with SIGKILL leaves its lock file, but not its lock.
func TestKilledHolder(t *testing.T) {
	if os.Getenv("DIRLOCK_HOLD") != "" {
		if _, err := Acquire(os.Getenv("DIRLOCK_HOLD"), "pretrain"); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("locked")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledHolder$")
	cmd.Env = append(os.Environ(), "DIRLOCK_HOLD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := out.Read(buf); err != nil || string(buf) != "locked\n"[:7] {
		t.Fatalf("child: %q, %v", buf, err)
	}
	_, err = Acquire(dir, "pretrain")
	want := fmt.Sprintf("PID %d", cmd.Process.Pid)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("while the child holds it: %v, want %q", err, want)
	}
	cmd.Process.Kill()
	cmd.Wait()
	l, err := Acquire(dir, "pretrain")
	if err != nil {
		t.Fatalf("after the holder's death: %v", err)
	}
	l.Unlock()
}
