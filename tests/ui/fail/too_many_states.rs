optim::optimizer! {
    pub Crowded {
        hyper { lr = 0.1 }
        state { s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0, s8 = 0, s9 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0, s14 = 0, s15 = 0, s16 = 0 }
        step {
            s0 = grad;
            s1 = grad;
            s2 = grad;
            s3 = grad;
            s4 = grad;
            s5 = grad;
            s6 = grad;
            s7 = grad;
            s8 = grad;
            s9 = grad;
            s10 = grad;
            s11 = grad;
            s12 = grad;
            s13 = grad;
            s14 = grad;
            s15 = grad;
            s16 = grad;
            param -= lr * grad;
        }
    }
}
fn main() {}
