#!/usr/bin/env bash
# The quiet window: nothing else may run. Benchmarks before (e7663aa) and
# after, alternated; then 1 epoch of the reference recipe on 2 MPI ranks
# (1 thread each) against 1 process (2 threads); then the collectives' time.
set -uo pipefail
out=/work/window; b=/work/benchbin
cd /work/main/pkg/kern
{ grep -m1 'model name' /proc/cpuinfo; nproc; date -u; } > $out/machine.txt
for r in 1 2; do
	for v in old new; do
		echo "== round $r $v" >> $out/bench-$v.txt
		(cd /work/main/pkg/kern && $b/kern.$v -test.run '^$' -test.bench 'Sgemm$/square1024' -test.benchtime 5x -test.benchmem) >> $out/bench-$v.txt 2>&1
		(cd /work/main/pkg/model && $b/model.$v -test.run '^$' -test.bench 'SimCLRStep/imagenet$' -test.benchtime 5x -test.benchmem) >> $out/bench-$v.txt 2>&1
		(cd /work/main/pkg/model && $b/model.$v -test.run '^$' -test.bench 'Extract/imagenet$' -test.benchtime 10x -test.benchmem) >> $out/bench-$v.txt 2>&1
	done
done
(cd /work/main/pkg/model && $b/model.new -test.run '^$' -test.bench 'SimCLRStep/cifar-pool$|Extract/cifar-pool$' -test.benchtime 3x -test.benchmem) >> $out/bench-cifar-pool.txt 2>&1
cd /work/main
flags=(data/train.arrow --epochs 100 --max-steps 195 --save-every 100)
rm -rf /tmp/ep-one /tmp/ep-two
date -u > $out/epoch-times.txt
$b/pretrain-mpi "${flags[@]}" --threads 2 --out-dir /tmp/ep-one > $out/epoch-one.txt 2>&1
date -u >> $out/epoch-times.txt
mpirun --allow-run-as-root --oversubscribe -np 2 --mca btl tcp,self --mca btl_tcp_if_include lo $b/pretrain-mpi --dist mpi "${flags[@]}" --threads 1 --out-dir /tmp/ep-two > $out/epoch-two.txt 2>&1
date -u >> $out/epoch-times.txt
cp /tmp/ep-one/log.jsonl $out/epoch-one.log.jsonl; cp /tmp/ep-two/log.jsonl $out/epoch-two.log.jsonl
(cd /work/main/pkg/train && mpirun --allow-run-as-root --oversubscribe -np 2 --mca btl tcp,self --mca btl_tcp_if_include lo -x GOMAXPROCS=1 -x SIMCLR_MPI_COMM_TIME=256 $b/train-mpi.test -test.run '^TestMPICommTime$' -test.v) > $out/commtime-tcp.txt 2>&1
(cd /work/main/pkg/train && mpirun --allow-run-as-root --oversubscribe -np 2 -x GOMAXPROCS=1 -x SIMCLR_MPI_COMM_TIME=256 $b/train-mpi.test -test.run '^TestMPICommTime$' -test.v) > $out/commtime-default.txt 2>&1
echo done > $out/DONE
