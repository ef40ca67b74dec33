`timescale 1ns/1ps
// tb_vectors: a self-checking test bench template that reads the $readmemh files of
// `refquant vectors` (or refquant.hw.write_vectors) and reports every mismatch.
//
// Pick the unit under test with one define and give the parameters of the vectors
// (the manifest.json beside them holds every figure); the folder comes at run time:
//
//   requant:     iverilog -g2005 -DTB_REQUANT -Ptb_vectors.N=<count> \
//                    -o tb rtl/tb_vectors.v rtl/requant.v
//   fp8 encoder: iverilog -g2005 -DTB_FP8 -Ptb_vectors.N=<count> -Ptb_vectors.E=4 \
//                    -Ptb_vectors.M=3 -Ptb_vectors.FN=1 -Ptb_vectors.SAT=1 \
//                    -o tb rtl/tb_vectors.v rtl/fp8_encode.v
//   OS array:    iverilog -g2005 -DTB_OS_ARRAY -Ptb_vectors.N=<steps> -Ptb_vectors.R=.. \
//                    -Ptb_vectors.C=.. -Ptb_vectors.A_W=.. -Ptb_vectors.B_W=.. \
//                    -Ptb_vectors.ACC_W=.. -Ptb_vectors.SIGNED=.. -Ptb_vectors.SATURATE=.. \
//                    -o tb rtl/tb_vectors.v rtl/os_array.v rtl/os_pe.v rtl/mac.v rtl/skew_line.v
//   WS array:    the same with -DTB_WS_ARRAY and rtl/ws_array.v rtl/ws_pe.v
//   run:         vvp tb +vectors=<folder>
//
// The last line printed is "tb_vectors: <n> checked, <m> mismatches" (m = 0: pass); the
// first MAX_SHOWN mismatches are printed as "MISMATCH cycle <t> ...". Units take one
// input per cycle and their outputs are compared in order when out_valid is high; the
// arrays replay schedule_in.hex cycle by cycle and compare every valid output lane of
// schedule_out.hex (a lane whose valid bit differs counts as one mismatch).
module tb_vectors;
    parameter N = 1;              // vectors (units) or schedule steps (arrays)
    parameter MAX_SHOWN = 10;
    // requant
    parameter OUT_W = 8, QMIN = -128, QMAX = 127;
    // fp8_encode
    parameter E = 4, M = 3, FN = 1, SAT = 1;
    // arrays
    parameter R = 2, C = 2, A_W = 8, B_W = 8, ACC_W = 32, SIGNED = 1, SATURATE = 0;

    reg clk = 1'b0;
    always #5 clk = ~clk;
    reg rst = 1'b1;
    reg [8*512-1:0] folder;
    reg [8*600-1:0] fname;
    integer errors = 0, checked = 0, t = 0, seen = 0, j;

    task show;
        input [8*40-1:0] what;
        input integer cyc, idx;
        input [127:0] got, want;
        begin
            if (errors < MAX_SHOWN)
                $display("MISMATCH cycle %0d %0s %0d: RTL %h, expected %h", cyc, what, idx, got, want);
            errors = errors + 1;
        end
    endtask

    initial begin
        if (!$value$plusargs("vectors=%s", folder)) folder = ".";
    end

`ifdef TB_REQUANT
    reg [31:0] acc_m [0:N-1];
    reg [31:0] q_m   [0:N-1];
    reg [5:0]  sh_m  [0:N-1];
    reg [31:0] zp_m  [0:N-1];
    reg [OUT_W-1:0] exp_m [0:N-1];
    reg in_valid = 1'b0;
    reg [31:0] acc = 0, q = 0, zero_point = 0;
    reg [5:0] shift = 0;
    wire out_valid;
    wire [OUT_W-1:0] out;
    requant #(.OUT_W(OUT_W), .QMIN(QMIN), .QMAX(QMAX)) dut (.clk(clk), .rst(rst),
        .in_valid(in_valid), .acc(acc), .q(q), .shift(shift), .zero_point(zero_point),
        .out_valid(out_valid), .out(out));
    initial begin
        $sformat(fname, "%0s/acc.hex", folder);        $readmemh(fname, acc_m);
        $sformat(fname, "%0s/q.hex", folder);          $readmemh(fname, q_m);
        $sformat(fname, "%0s/shift.hex", folder);      $readmemh(fname, sh_m);
        $sformat(fname, "%0s/zero_point.hex", folder); $readmemh(fname, zp_m);
        $sformat(fname, "%0s/expected.hex", folder);   $readmemh(fname, exp_m);
    end
    always @(negedge clk) if (!rst) begin
        in_valid <= (t < N);
        if (t < N) begin
            acc <= acc_m[t]; q <= q_m[t]; shift <= sh_m[t]; zero_point <= zp_m[t];
        end
        t = t + 1;
    end
    always @(posedge clk) #1 if (out_valid) begin
        if (out !== exp_m[seen]) show("output", t, seen, out, exp_m[seen]);
        seen = seen + 1;
        checked = checked + 1;
    end
`endif

`ifdef TB_FP8
    reg [31:0] x_m   [0:N-1];
    reg [7:0]  exp_m [0:N-1];
    reg in_valid = 1'b0;
    reg [31:0] x = 0;
    wire out_valid;
    wire [7:0] out;
    fp8_encode #(.E(E), .M(M), .FN(FN)) dut (.clk(clk), .rst(rst), .in_valid(in_valid),
        .sat(SAT[0]), .x(x), .out_valid(out_valid), .out(out));
    initial begin
        $sformat(fname, "%0s/x.hex", folder);        $readmemh(fname, x_m);
        $sformat(fname, "%0s/expected.hex", folder); $readmemh(fname, exp_m);
    end
    always @(negedge clk) if (!rst) begin
        in_valid <= (t < N);
        if (t < N) x <= x_m[t];
        t = t + 1;
    end
    always @(posedge clk) #1 if (out_valid) begin
        if (out !== exp_m[seen]) show("output", t, seen, out, exp_m[seen]);
        seen = seen + 1;
        checked = checked + 1;
    end
`endif

`ifdef TB_OS_ARRAY
    `define TB_ARRAY
    localparam IN_W = 2 + R + R*A_W + C + C*B_W;
    reg [IN_W-1:0] in_m [0:N-1];
    reg [IN_W-1:0] in_word = 0;
    os_array #(.R(R), .C(C), .A_W(A_W), .B_W(B_W), .ACC_W(ACC_W), .SIGNED(SIGNED),
               .SATURATE(SATURATE)) dut (.clk(clk), .rst(rst),
        .start(in_word[0]), .drain(in_word[1]),
        .a_valid(in_word[2 +: R]), .a_in(in_word[2+R +: R*A_W]),
        .b_valid(in_word[2+R+R*A_W +: C]), .b_in(in_word[2+R+R*A_W+C +: C*B_W]),
        .out_data(out_data), .out_valid(out_valid), .tr_a(), .tr_b(), .tr_acc());
`endif

`ifdef TB_WS_ARRAY
    `define TB_ARRAY
    localparam IN_W = 1 + R + R*A_W + C + C*ACC_W + C*B_W;
    reg [IN_W-1:0] in_m [0:N-1];
    reg [IN_W-1:0] in_word = 0;
    ws_array #(.R(R), .C(C), .A_W(A_W), .B_W(B_W), .ACC_W(ACC_W), .SIGNED(SIGNED),
               .SATURATE(SATURATE)) dut (.clk(clk), .rst(rst),
        .load(in_word[0]), .a_valid(in_word[1 +: R]), .a_in(in_word[1+R +: R*A_W]),
        .psum_valid(in_word[1+R+R*A_W +: C]), .psum_in(in_word[1+R+R*A_W+C +: C*ACC_W]),
        .w_in(in_word[1+R+R*A_W+C+C*ACC_W +: C*B_W]),
        .out_data(out_data), .out_valid(out_valid), .tr_w(), .tr_a(), .tr_psum());
`endif

`ifdef TB_ARRAY
    localparam OUT_W2 = C + C*ACC_W;
    reg [OUT_W2-1:0] out_m [0:N-1];
    wire [C*ACC_W-1:0] out_data;
    wire [C-1:0] out_valid;
    reg [C-1:0] want_v;
    reg [C*ACC_W-1:0] want_d;
    initial begin
        $sformat(fname, "%0s/schedule_in.hex", folder);  $readmemh(fname, in_m);
        $sformat(fname, "%0s/schedule_out.hex", folder); $readmemh(fname, out_m);
    end
    // step t: the inputs of cycle t are applied, the outputs sampled before the edge
    always @(negedge clk) if (!rst) begin
        if (t < N) begin
            in_word = (t < N - 1) ? in_m[t] : {IN_W{1'b0}};
            #1;
            want_v = out_m[t][C-1:0];
            want_d = out_m[t][C +: C*ACC_W];
            for (j = 0; j < C; j = j + 1) begin
                if (out_valid[j] !== want_v[j]) show("out_valid lane", t, j, out_valid[j], want_v[j]);
                else if (want_v[j]) begin
                    checked = checked + 1;
                    if (out_data[j*ACC_W +: ACC_W] !== want_d[j*ACC_W +: ACC_W])
                        show("out_data lane", t, j, out_data[j*ACC_W +: ACC_W], want_d[j*ACC_W +: ACC_W]);
                end
            end
        end
        t = t + 1;
    end
`endif

    initial begin
        repeat (2) @(posedge clk);
        #2 rst = 1'b0;
`ifdef TB_ARRAY
        wait (t >= N);
`else
        wait (seen >= N || t > N + 20);
`endif
        @(posedge clk);
        #2;
        $display("tb_vectors: %0d checked, %0d mismatches", checked, errors);
        $finish;
    end
endmodule
