optim::optimizer! {
    pub Branchy {
        hyper { lr = 0.1 }
        step {
            if lr > 0.001 { param -= 0.001 * grad; }
            if lr > 0.002 { param -= 0.002 * grad; }
            if lr > 0.003 { param -= 0.003 * grad; }
            if lr > 0.004 { param -= 0.004 * grad; }
            if lr > 0.005 { param -= 0.005 * grad; }
            if lr > 0.006 { param -= 0.006 * grad; }
            if lr > 0.007 { param -= 0.007 * grad; }
            if lr > 0.008 { param -= 0.008 * grad; }
            if lr > 0.009 { param -= 0.009 * grad; }
            if lr > 0.010 { param -= 0.010 * grad; }
            if lr > 0.011 { param -= 0.011 * grad; }
            if lr > 0.012 { param -= 0.012 * grad; }
            if lr > 0.013 { param -= 0.013 * grad; }
            if lr > 0.014 { param -= 0.014 * grad; }
            if lr > 0.015 { param -= 0.015 * grad; }
            if lr > 0.016 { param -= 0.016 * grad; }
            if lr > 0.017 { param -= 0.017 * grad; }
            if lr > 0.018 { param -= 0.018 * grad; }
            if lr > 0.019 { param -= 0.019 * grad; }
            if lr > 0.020 { param -= 0.020 * grad; }
            if lr > 0.021 { param -= 0.021 * grad; }
            if lr > 0.022 { param -= 0.022 * grad; }
            if lr > 0.023 { param -= 0.023 * grad; }
            if lr > 0.024 { param -= 0.024 * grad; }
            if lr > 0.025 { param -= 0.025 * grad; }
            if lr > 0.026 { param -= 0.026 * grad; }
            if lr > 0.027 { param -= 0.027 * grad; }
            if lr > 0.028 { param -= 0.028 * grad; }
            if lr > 0.029 { param -= 0.029 * grad; }
            if lr > 0.030 { param -= 0.030 * grad; }
            if lr > 0.031 { param -= 0.031 * grad; }
            if lr > 0.032 { param -= 0.032 * grad; }
            if lr > 0.033 { param -= 0.033 * grad; }
            if lr > 0.034 { param -= 0.034 * grad; }
            if lr > 0.035 { param -= 0.035 * grad; }
            if lr > 0.036 { param -= 0.036 * grad; }
            if lr > 0.037 { param -= 0.037 * grad; }
            if lr > 0.038 { param -= 0.038 * grad; }
            if lr > 0.039 { param -= 0.039 * grad; }
            if lr > 0.040 { param -= 0.040 * grad; }
            if lr > 0.041 { param -= 0.041 * grad; }
            if lr > 0.042 { param -= 0.042 * grad; }
            if lr > 0.043 { param -= 0.043 * grad; }
            if lr > 0.044 { param -= 0.044 * grad; }
            if lr > 0.045 { param -= 0.045 * grad; }
            if lr > 0.046 { param -= 0.046 * grad; }
            if lr > 0.047 { param -= 0.047 * grad; }
            if lr > 0.048 { param -= 0.048 * grad; }
            if lr > 0.049 { param -= 0.049 * grad; }
            if lr > 0.050 { param -= 0.050 * grad; }
            if lr > 0.051 { param -= 0.051 * grad; }
            if lr > 0.052 { param -= 0.052 * grad; }
            if lr > 0.053 { param -= 0.053 * grad; }
            if lr > 0.054 { param -= 0.054 * grad; }
            if lr > 0.055 { param -= 0.055 * grad; }
            if lr > 0.056 { param -= 0.056 * grad; }
            if lr > 0.057 { param -= 0.057 * grad; }
            if lr > 0.058 { param -= 0.058 * grad; }
            if lr > 0.059 { param -= 0.059 * grad; }
            if lr > 0.060 { param -= 0.060 * grad; }
            if lr > 0.061 { param -= 0.061 * grad; }
            if lr > 0.062 { param -= 0.062 * grad; }
            if lr > 0.063 { param -= 0.063 * grad; }
            if lr > 0.064 { param -= 0.064 * grad; }
            if lr > 0.065 { param -= 0.065 * grad; }
        }
    }
}
fn main() {}
