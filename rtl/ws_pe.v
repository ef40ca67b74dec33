`timescale 1ns/1ps
// ws_pe: one processing element of the weight-stationary array.
//
// Registers: the stationary weight w, the streamed operand a (passed right) with a_v,
// and the partial sum psum (passed down) with ps_v. Each cycle:
//   preload (load = 1): w <= w_in (the PE above; the edge at row 0), a, psum <= 0;
//   stream  (load = 0): a <= a_in, psum <= policy(ps_in + a_in * w), ps_v <= ps_vin,
//                       where ps_in is the PE above's psum (row 0: the partial sum of
//                       the previous K-fold, 0 in the first).
// (refquant.sim.SystolicArray, "ws": weights preloaded in R cycles, partial sums flow
// down and leave the bottom row.)
module ws_pe #(
    parameter A_W      = 8,
    parameter B_W      = 8,
    parameter ACC_W    = 32,
    parameter SIGNED   = 1,
    parameter SATURATE = 0
) (
    input  wire             clk,
    input  wire             rst,
    input  wire             load,
    input  wire [B_W-1:0]   w_in,
    input  wire [A_W-1:0]   a_in,
    input  wire             a_vin,
    input  wire [ACC_W-1:0] ps_in,
    input  wire             ps_vin,
    output reg  [B_W-1:0]   w,
    output reg  [A_W-1:0]   a,
    output reg              a_v,
    output reg  [ACC_W-1:0] psum,
    output reg              ps_v
);
    wire [ACC_W-1:0] sum;

    mac #(.A_W(A_W), .B_W(B_W), .ACC_W(ACC_W), .SIGNED(SIGNED), .SATURATE(SATURATE))
        u_mac (.a(a_in), .b(w), .c(ps_in), .y(sum));

    always @(posedge clk) begin
        if (rst) begin
            w <= {B_W{1'b0}};
            a <= {A_W{1'b0}};  a_v <= 1'b0;
            psum <= {ACC_W{1'b0}};  ps_v <= 1'b0;
        end else if (load) begin
            w <= w_in;
            a <= {A_W{1'b0}};  a_v <= 1'b0;
            psum <= {ACC_W{1'b0}};  ps_v <= 1'b0;
        end else begin
            a <= a_in;  a_v <= a_vin;
            psum <= sum;  ps_v <= ps_vin;
        end
    end
endmodule
