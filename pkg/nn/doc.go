// Package nn holds the layers of a ResNet-18 SimCLR model on float32 slices,
// each as a Forward directly above its Backward, in the manner of llm.c.
//
// Conventions, shared by every layer:
//
//   - Activations are NHWC, channels innermost: an image is [H][W][C], a batch
//     [N][H][W][C]. A 1-d feature batch is [N][C], the same as NHWC with H=W=1.
//     BatchNorm, ReLU and pooling run on contiguous channel vectors; the 3×3
//     convolutions run directly (direct.go), the others as im2col plus one
//     GEMM over contiguous rows of KH*KW*Cin values.
//   - A layer is built for a batch capacity and input size (Dims) and sizes its
//     scratch once; Forward and Backward take the actual batch n <= Dims.N and
//     allocate nothing.
//   - The caller owns the activations: Forward(y, x, n) writes y, and Backward
//     gets whichever of x and y it needs, unchanged since Forward.
//   - Backward ADDS into the parameter gradients (Param.Grad); ZeroGrads clears
//     them. Backward OVERWRITES the input gradient dx, except Conv2d.Backward
//     with accumulate set, which adds (where a residual branch joins).
//     Conv2d and Linear accept dx == nil when the input gradient is not needed.
//   - Results are bit-identical for any thread count: work is split only over
//     independent outputs, and reductions are summed in a fixed order.
//   - Parameter and buffer names follow torchvision's resnet18 state_dict; the
//     caller supplies the prefix ("layer1.0.conv1" gives "layer1.0.conv1.weight").
package nn
