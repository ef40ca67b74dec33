`timescale 1ns/1ps
// ws_array: an R x C weight-stationary systolic array of ws_pe, following the timing of
// refquant.sim.SystolicArray(R, C, dataflow="ws") register for register.
//
// One fold holds the weight tile W[k0 .. k0+R-1, c0 .. c0+C-1] of out = S @ W
// (S: T x K streamed, W: K x N stationary). The driver (refquant.hw.array_schedule)
// presents:
//   preload, R cycles p = 0 .. R-1: load = 1 and w_in column j = W[k0 + R-1-p, c0 + j]
//   (zero outside the fold); the weights shift down, so PE (i, j) ends with
//   W[k0 + i, c0 + j];
//   stream, beats s = 0, 1, ...: load = 0, a_in row i = S[s, k0 + i] (valid while
//   s < T and row i is used), psum_in column j = the previous K-fold's partial sum
//   out[s, c0 + j] (0 in the first K-fold), psum_valid column j = (s < T and column j
//   is used), all unskewed: skew_line depth i (rows) and j (columns) skew them.
// out_data / out_valid: the bottom row's partial sums; at the end of beat s column j
// holds output row s - (R-1) - j of the fold's columns (valid when it exists).
// tr_w, tr_a, tr_psum: every PE's registers, PE (i, j) at bits [(i*C + j)*W +: W]
// (the trace planes "stationary", "stream", "psum" of SystolicResult.trace).
module ws_array #(
    parameter R        = 4,
    parameter C        = 4,
    parameter A_W      = 8,
    parameter B_W      = 8,
    parameter ACC_W    = 32,
    parameter SIGNED   = 1,
    parameter SATURATE = 0
) (
    input  wire               clk,
    input  wire               rst,
    input  wire               load,
    input  wire [C*B_W-1:0]   w_in,
    input  wire [R*A_W-1:0]   a_in,
    input  wire [R-1:0]       a_valid,
    input  wire [C*ACC_W-1:0] psum_in,
    input  wire [C-1:0]       psum_valid,
    output wire [C*ACC_W-1:0] out_data,
    output wire [C-1:0]       out_valid,
    output reg  [R*C*B_W-1:0]   tr_w,
    output reg  [R*C*A_W-1:0]   tr_a,
    output reg  [R*C*ACC_W-1:0] tr_psum
);
    // every PE's registers, PE (i, j) at index i*C + j (one net per PE)
    wire [B_W-1:0]   w_q   [0:R*C-1];
    wire [A_W-1:0]   a_q   [0:R*C-1];
    wire [ACC_W-1:0] ps_q  [0:R*C-1];
    wire             a_vq  [0:R*C-1];
    wire             ps_vq [0:R*C-1];
    wire [R*A_W-1:0]   a_edge;
    wire [R-1:0]       a_vedge;
    wire [C*ACC_W-1:0] ps_edge;
    wire [C-1:0]       ps_vedge;

    genvar i, j;
    generate
        for (i = 0; i < R; i = i + 1) begin : g_skew_a
            skew_line #(.W(A_W + 1), .DEPTH(i)) u_skew (.clk(clk), .rst(rst),
                .d({a_valid[i], a_in[i*A_W +: A_W]}),
                .q({a_vedge[i], a_edge[i*A_W +: A_W]}));
        end
        for (j = 0; j < C; j = j + 1) begin : g_skew_ps
            skew_line #(.W(ACC_W + 1), .DEPTH(j)) u_skew (.clk(clk), .rst(rst),
                .d({psum_valid[j], psum_in[j*ACC_W +: ACC_W]}),
                .q({ps_vedge[j], ps_edge[j*ACC_W +: ACC_W]}));
        end

        for (i = 0; i < R; i = i + 1) begin : g_row
            for (j = 0; j < C; j = j + 1) begin : g_col
                wire [B_W-1:0]   w_src  = (i == 0) ? w_in[j*B_W +: B_W] : w_q[(i-1)*C+j];
                wire [A_W-1:0]   a_src  = (j == 0) ? a_edge[i*A_W +: A_W] : a_q[i*C+j-1];
                wire             av_src = (j == 0) ? a_vedge[i] : a_vq[i*C+j-1];
                wire [ACC_W-1:0] ps_src  = (i == 0) ? ps_edge[j*ACC_W +: ACC_W] : ps_q[(i-1)*C+j];
                wire             psv_src = (i == 0) ? ps_vedge[j] : ps_vq[(i-1)*C+j];

                ws_pe #(.A_W(A_W), .B_W(B_W), .ACC_W(ACC_W), .SIGNED(SIGNED), .SATURATE(SATURATE))
                    u_pe (.clk(clk), .rst(rst), .load(load), .w_in(w_src),
                          .a_in(a_src), .a_vin(av_src), .ps_in(ps_src), .ps_vin(psv_src),
                          .w(w_q[i*C+j]), .a(a_q[i*C+j]), .a_v(a_vq[i*C+j]),
                          .psum(ps_q[i*C+j]), .ps_v(ps_vq[i*C+j]));
            end
        end

        for (j = 0; j < C; j = j + 1) begin : g_out
            assign out_data[j*ACC_W +: ACC_W] = ps_q[(R-1)*C+j];
            assign out_valid[j] = ps_vq[(R-1)*C+j];
        end
    endgenerate

    // the flat register ports of the bench, PE (i, j) at lane i*C + j (one block: the
    // simulator updates each bus once per cycle, not once per PE)
    integer k;
    always @* begin
        for (k = 0; k < R*C; k = k + 1) begin
            tr_w[k*B_W +: B_W] = w_q[k];
            tr_a[k*A_W +: A_W] = a_q[k];
            tr_psum[k*ACC_W +: ACC_W] = ps_q[k];
        end
    end
endmodule
