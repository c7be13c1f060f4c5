package io.splitinfer.model.privacy;

/** Indices of the k largest scores, best first (ties: lower index first). */
final class TopK {
  private TopK() {}

  static int[] of(float[] scores, int k) {
    int kk = Math.min(k, scores.length);
    int[] idx = new int[kk];
    float[] val = new float[kk];
    int size = 0;
    for (int v = 0; v < scores.length; v++) {
      float s = scores[v];
      if (size == kk && !(s > val[kk - 1])) {
        continue;
      }
      int pos = size < kk ? size++ : kk - 1;
      while (pos > 0 && s > val[pos - 1]) {
        val[pos] = val[pos - 1];
        idx[pos] = idx[pos - 1];
        pos--;
      }
      val[pos] = s;
      idx[pos] = v;
    }
    return idx;
  }

  static int argmax(float[] scores) {
    int best = 0;
    for (int v = 1; v < scores.length; v++) {
      if (scores[v] > scores[best]) {
        best = v;
      }
    }
    return best;
  }
}
