import type * as tf from '@tensorflow/tfjs';

/** Geometry of a 2-D window op (convolution, pooling) over an NHWC tensor. */
export interface WindowGeom {
  /** batch, input height, width, channels */
  n: number;
  h: number;
  w: number;
  c: number;
  /** window height and width */
  kh: number;
  kw: number;
  /** strides */
  sh: number;
  sw: number;
  /** zero padding before the first row / column */
  padTop: number;
  padLeft: number;
  /** output height and width */
  oh: number;
  ow: number;
}

/** The geometry of tfjs's conv/pool info (which already resolved strides, padding and output size). */
export function geomFromInfo(info: tf.backend_util.Conv2DInfo): WindowGeom {
  return {
    n: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    c: info.inChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    oh: info.outHeight,
    ow: info.outWidth,
  };
}

/** The geometry as the flat argument list the native addon takes. */
export function geomArgs(g: WindowGeom): number[] {
  return [g.n, g.h, g.w, g.c, g.kh, g.kw, g.sh, g.sw, g.padTop, g.padLeft, g.oh, g.ow];
}

/** Activation codes shared with native/src/conv_ops.h. */
export const ACTIVATION_CODES = {
  linear: 0,
  relu: 1,
  relu6: 2,
  elu: 3,
  sigmoid: 4,
  leakyrelu: 5,
  prelu: 6,
} as const;
