`timescale 1ns/1ps
// os_array: an R x C output-stationary systolic array of os_pe, following the timing of
// refquant.sim.SystolicArray(R, C, dataflow="os") register for register.
//
// One fold computes a tile out[r0 .. r0+R-1, c0 .. c0+C-1] of A @ B (A: M x K, B: K x N).
// The driver (refquant.hw.array_schedule) presents, at fold cycle t:
//   start = 1 at t = 0 (the PE registers read their neighbours and themselves as zero);
//   a_in row i = A[r0 + i, t] and b_in column j = B[t, c0 + j] while t < K (zero and
//   not valid outside, or for rows / columns the fold does not use), unskewed: the
//   skew_line of row i (depth i) and column j (depth j) skew them inside the array,
//   so PE (i, j) multiplies A[r0+i, k] * B[k, c0+j] at cycle k + i + j;
//   drain = 1 for the R cycles after the last product (K + rows + cols - 2 cycles):
//   the accumulators move down one row per cycle and the bottom row leaves the array.
// out_data / out_valid: the bottom row's accumulators, valid in drain cycles; in drain
// cycle d they hold output row R - 1 - d of the fold (valid when that row is used).
// tr_a, tr_b, tr_acc: every PE's registers, PE (i, j) at bits [(i*C + j)*W +: W]
// (the trace planes "a", "b", "acc" of SystolicResult.trace).
module os_array #(
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
    input  wire               start,
    input  wire               drain,
    input  wire [R*A_W-1:0]   a_in,
    input  wire [R-1:0]       a_valid,
    input  wire [C*B_W-1:0]   b_in,
    input  wire [C-1:0]       b_valid,
    output wire [C*ACC_W-1:0] out_data,
    output wire [C-1:0]       out_valid,
    output reg  [R*C*A_W-1:0]   tr_a,
    output reg  [R*C*B_W-1:0]   tr_b,
    output reg  [R*C*ACC_W-1:0] tr_acc
);
    // every PE's registers, PE (i, j) at index i*C + j (one net per PE: a change of one
    // PE wakes only its neighbours)
    wire [A_W-1:0]   a_q   [0:R*C-1];
    wire [B_W-1:0]   b_q   [0:R*C-1];
    wire [ACC_W-1:0] acc_q [0:R*C-1];
    wire             a_vq  [0:R*C-1];
    wire             b_vq  [0:R*C-1];
    wire             acc_vq [0:R*C-1];
    // the skewed edges
    wire [R*A_W-1:0] a_edge;
    wire [R-1:0]     a_vedge;
    wire [C*B_W-1:0] b_edge;
    wire [C-1:0]     b_vedge;

    genvar i, j;
    generate
        for (i = 0; i < R; i = i + 1) begin : g_skew_a
            skew_line #(.W(A_W + 1), .DEPTH(i)) u_skew (.clk(clk), .rst(rst),
                .d({a_valid[i], a_in[i*A_W +: A_W]}),
                .q({a_vedge[i], a_edge[i*A_W +: A_W]}));
        end
        for (j = 0; j < C; j = j + 1) begin : g_skew_b
            skew_line #(.W(B_W + 1), .DEPTH(j)) u_skew (.clk(clk), .rst(rst),
                .d({b_valid[j], b_in[j*B_W +: B_W]}),
                .q({b_vedge[j], b_edge[j*B_W +: B_W]}));
        end

        for (i = 0; i < R; i = i + 1) begin : g_row
            for (j = 0; j < C; j = j + 1) begin : g_col
                // operands from the left / upper neighbour, or the edge; zero at start
                wire [A_W-1:0]   a_src  = (j == 0) ? a_edge[i*A_W +: A_W]
                                        : (start ? {A_W{1'b0}} : a_q[i*C+j-1]);
                wire             av_src = (j == 0) ? a_vedge[i] : (~start & a_vq[i*C+j-1]);
                wire [B_W-1:0]   b_src  = (i == 0) ? b_edge[j*B_W +: B_W]
                                        : (start ? {B_W{1'b0}} : b_q[(i-1)*C+j]);
                wire             bv_src = (i == 0) ? b_vedge[j] : (~start & b_vq[(i-1)*C+j]);
                // accumulator from the PE above during the drain (row 0 receives 0)
                wire [ACC_W-1:0] acc_src  = (i == 0) ? {ACC_W{1'b0}} : acc_q[(i-1)*C+j];
                wire             accv_src = (i == 0) ? 1'b0 : acc_vq[(i-1)*C+j];

                os_pe #(.A_W(A_W), .B_W(B_W), .ACC_W(ACC_W), .SIGNED(SIGNED), .SATURATE(SATURATE))
                    u_pe (.clk(clk), .rst(rst), .start(start), .drain(drain),
                          .a_in(a_src), .a_vin(av_src), .b_in(b_src), .b_vin(bv_src),
                          .acc_in(acc_src), .acc_vin(accv_src),
                          .a(a_q[i*C+j]), .a_v(a_vq[i*C+j]),
                          .b(b_q[i*C+j]), .b_v(b_vq[i*C+j]),
                          .acc(acc_q[i*C+j]), .acc_v(acc_vq[i*C+j]));
            end
        end

        // the bottom row leaves the array during the drain
        for (j = 0; j < C; j = j + 1) begin : g_out
            assign out_data[j*ACC_W +: ACC_W] = acc_q[(R-1)*C+j];
            assign out_valid[j] = drain & acc_vq[(R-1)*C+j];
        end
    endgenerate

    // the flat register ports of the bench, PE (i, j) at lane i*C + j (one block: the
    // simulator updates each bus once per cycle, not once per PE)
    integer k;
    always @* begin
        for (k = 0; k < R*C; k = k + 1) begin
            tr_a[k*A_W +: A_W] = a_q[k];
            tr_b[k*B_W +: B_W] = b_q[k];
            tr_acc[k*ACC_W +: ACC_W] = acc_q[k];
        end
    end
endmodule
