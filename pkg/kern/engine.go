package kern

import (
	"fmt"
	"runtime"
)

// An Engine is what a model computes with, chosen once and given to each
// layer as it is built: a backend, the number of cores its kernels split
// their work over, and the precision of each kind of product. It is
// immutable, so layers built with different engines (a test's, say) run
// side by side.
type Engine struct {
	be      *Backend
	threads int
	policy  Policy
}

// Policy is what each kind of product multiplies in.
type Policy struct {
	Conv   Precision // the encoder's convolutions, forward and input gradient (weight gradients stay float32)
	Linear Precision // fully connected layers (the projection head, classifiers)
	Loss   Precision // NT-Xent's similarity products
}

// PolicyFor is the policy of a run in precision p: bf16 runs the
// convolutions in bf16 and keeps the linear layers and the loss in float32,
// whose products are too small (and, for the loss, too sensitive) to gain.
func PolicyFor(p Precision) Policy { return Policy{Conv: p, Linear: FP32, Loss: FP32} }

// Options choose an engine.
type Options struct {
	Backend   string // a backend's name; "" or "auto": the best this CPU runs
	Threads   int    // cores; 0: all (GOMAXPROCS)
	Precision string // "", "auto", "fp32" or "bf16" (see Backend.Choose)
}

// New builds the engine o describes. The note says what an automatic or
// explicit precision resolved to and why, or warns (see Backend.Choose).
func New(o Options) (e *Engine, note string, err error) {
	be, err := backend(o.Backend)
	if err != nil {
		return nil, "", err
	}
	if o.Threads < 0 {
		return nil, "", fmt.Errorf("threads %d: want 0 (all) or more", o.Threads)
	}
	p, note, err := be.Choose(o.Precision)
	if err != nil {
		return nil, "", err
	}
	e = engineOf(be)
	if o.Threads > 0 {
		e.threads = o.Threads
	}
	e.policy = PolicyFor(p)
	return e, note, nil
}

// Default is the best backend on every core, in float32: for callers that
// choose nothing (tests, tools off the training path).
func Default() *Engine { return engineOf(backends[0]) }

// engineOf is backend b on every core, in float32.
func engineOf(b *Backend) *Engine {
	return &Engine{be: b, threads: runtime.GOMAXPROCS(0), policy: PolicyFor(FP32)}
}

// Backend is the engine's backend.
func (e *Engine) Backend() *Backend { return e.be }

// Policy is what each kind of product multiplies in on this engine.
func (e *Engine) Policy() Policy { return e.policy }

// Threads is how many cores the engine's kernels use.
func (e *Engine) Threads() int { return e.threads }

// WithThreads is e on n cores (at least 1).
func (e *Engine) WithThreads(n int) *Engine {
	c := *e
	c.threads = max(n, 1)
	return &c
}

// WithPrecision is e with policy PolicyFor(p).
func (e *Engine) WithPrecision(p Precision) *Engine {
	c := *e
	c.policy = PolicyFor(p)
	return &c
}

// TileRows and TileCols are the shape of the tile Tile computes, which the
// direct convolutions lay their work out by.
func (e *Engine) TileRows() int { return e.be.tileRows }
func (e *Engine) TileCols() int { return e.be.tileCols }
