import { check } from '../util/errors.js';

/** Output side of a 'valid' (unpadded) convolution or pooling window: floor((size + 2 pad - k) / stride) + 1. */
export function outSize(size: number, kernel: number, stride = 1, pad = 0): number {
  return Math.floor((size + 2 * pad - kernel) / stride) + 1;
}

/** Check that an input shape is [H, W, C] with the given channel count and a spatial size the net can shrink. */
export function checkImageShape(
  model: string,
  inputShape: readonly number[],
  channels: number,
  minSide: number,
): void {
  check(
    inputShape.length === 3 && inputShape[2] === channels,
    `model ${model}: expected an image input shape [H, W, ${channels}], got [${inputShape}]`,
  );
  check(
    inputShape[0]! >= minSide && inputShape[1]! >= minSide,
    `model ${model}: input [${inputShape}] is too small, expected H and W >= ${minSide}`,
  );
}

/** Side length after the LeNet-style stack conv5 -> pool2 -> conv5 -> pool2 used by mnist-cnn and cifar-cnn. */
export function lenetSide(side: number): number {
  return Math.floor((Math.floor((side - 4) / 2) - 4) / 2);
}
