using System.Buffers.Binary;

namespace EdgeNets.Host.Devices;

/// <summary>BME680 registers the simulated chip models (Bosch BST-BME680-DS001, section 5.2, and the calibration map of section 3.3).</summary>
public enum Bme680Register : byte
{
    RES_HEAT_VAL = 0x00,
    RES_HEAT_RANGE = 0x02,
    RANGE_SW_ERR = 0x04,
    MEAS_STATUS_0 = 0x1D,
    PRESS_MSB = 0x1F,
    TEMP_MSB = 0x22,
    HUM_MSB = 0x25,
    GAS_R_MSB = 0x2A,
    GAS_R_LSB = 0x2B,
    RES_HEAT_0 = 0x5A,
    GAS_WAIT_0 = 0x64,
    CTRL_GAS_0 = 0x70,
    CTRL_GAS_1 = 0x71,
    CTRL_HUM = 0x72,
    CTRL_MEAS = 0x74,
    CONFIG = 0x75,
    PAR_T2 = 0x8A,
    PAR_T3 = 0x8C,
    PAR_P1 = 0x8E,
    PAR_P2 = 0x90,
    PAR_P3 = 0x92,
    PAR_P4 = 0x94,
    PAR_P5 = 0x96,
    PAR_P7 = 0x98,
    PAR_P6 = 0x99,
    PAR_P8 = 0x9C,
    PAR_P9 = 0x9E,
    PAR_P10 = 0xA0,
    CHIP_ID = 0xD0,
    PAR_H2_MSB = 0xE1,
    PAR_H1_H2_LSB = 0xE2,
    PAR_H1_MSB = 0xE3,
    PAR_H3 = 0xE4,
    PAR_H4 = 0xE5,
    PAR_H5 = 0xE6,
    PAR_H6 = 0xE7,
    PAR_H7 = 0xE8,
    PAR_T1 = 0xE9,
    PAR_G2 = 0xEB,
    PAR_G1 = 0xED,
    PAR_G3 = 0xEE,
}

/// <summary>The BME680's calibration parameters (section 3.3), with the data sheet's names.</summary>
public readonly record struct Bme680Calibration(
    int T1, int T2, int T3,
    int P1, int P2, int P3, int P4, int P5, int P6, int P7, int P8, int P9, int P10,
    int H1, int H2, int H3, int H4, int H5, int H6, int H7,
    int G1, int G2, int G3, int ResHeatRange, int ResHeatVal, int RangeSwitchingError)
{
    /// <summary>A plausible chip with positive values where the data sheet allows either sign.</summary>
    public static readonly Bme680Calibration Typical = new(
        T1: 25944, T2: 26369, T3: 3,
        P1: 36138, P2: -10320, P3: 88, P4: 6610, P5: -129, P6: 30, P7: 32, P8: -3307, P9: -2473, P10: 30,
        H1: 767, H2: 1025, H3: 0, H4: 45, H5: 20, H6: 120, H7: -100,
        G1: -3, G2: -9840, G3: 18, ResHeatRange: 1, ResHeatVal: 42, RangeSwitchingError: 1);

    /// <summary>
    /// A plausible chip with every value that the data sheet declares signed negative, the ones a reading as unsigned
    /// gets wrong among them: par_t3, par_p3, par_p6, par_p7, range_switching_error.
    /// </summary>
    public static readonly Bme680Calibration Negative = Typical with
    {
        T3 = -3, P3 = -88, P6 = -30, P7 = -32, P10 = 200, H3 = -5, H4 = -45, H5 = -20, H7 = -100,
        G1 = -3, G3 = -18, ResHeatVal = -42, RangeSwitchingError = -3,
    };
}

/// <summary>
/// A BME680 without hardware: chip id 0x61, the calibration parameters of <see cref="Calibration"/> in the data
/// sheet's register layout, and raw ADC readings (<see cref="SetRaw"/>) that a forced-mode measurement (CTRL_MEAS mode
/// 01) latches into the data registers before the chip returns to sleep, with new_data set, and gas_valid and
/// heat_stab set when the gas conversion ran (run_gas on, heater not off).
/// </summary>
public sealed class SimulatedBme680 : SimulatedRegisterDevice
{
    public const byte ChipId = 0x61;
    private int _temperature = 500000, _pressure = 350000, _humidity = 22000, _gas = 600, _gasRange = 4;

    public SimulatedBme680(int busId = 1, int address = 0x76) : this(Bme680Calibration.Typical, busId, address)
    {
    }

    public SimulatedBme680(Bme680Calibration calibration, int busId = 1, int address = 0x76) : base(busId, address)
    {
        Calibration = calibration;
        Registers[(int)Bme680Register.CHIP_ID] = ChipId;
        var c = calibration;
        Put16((int)Bme680Register.PAR_T1, c.T1);
        Put16((int)Bme680Register.PAR_T2, c.T2);
        Registers[(int)Bme680Register.PAR_T3] = (byte)c.T3;
        Put16((int)Bme680Register.PAR_P1, c.P1);
        Put16((int)Bme680Register.PAR_P2, c.P2);
        Registers[(int)Bme680Register.PAR_P3] = (byte)c.P3;
        Put16((int)Bme680Register.PAR_P4, c.P4);
        Put16((int)Bme680Register.PAR_P5, c.P5);
        Registers[(int)Bme680Register.PAR_P6] = (byte)c.P6;
        Registers[(int)Bme680Register.PAR_P7] = (byte)c.P7;
        Put16((int)Bme680Register.PAR_P8, c.P8);
        Put16((int)Bme680Register.PAR_P9, c.P9);
        Registers[(int)Bme680Register.PAR_P10] = (byte)c.P10;
        // par_h1 = 0xE3 << 4 | 0xE2[3:0]; par_h2 = 0xE1 << 4 | 0xE2[7:4] (12 bits each).
        Registers[(int)Bme680Register.PAR_H1_MSB] = (byte)(c.H1 >> 4);
        Registers[(int)Bme680Register.PAR_H2_MSB] = (byte)(c.H2 >> 4);
        Registers[(int)Bme680Register.PAR_H1_H2_LSB] = (byte)((c.H1 & 0xF) | (c.H2 & 0xF) << 4);
        Registers[(int)Bme680Register.PAR_H3] = (byte)c.H3;
        Registers[(int)Bme680Register.PAR_H4] = (byte)c.H4;
        Registers[(int)Bme680Register.PAR_H5] = (byte)c.H5;
        Registers[(int)Bme680Register.PAR_H6] = (byte)c.H6;
        Registers[(int)Bme680Register.PAR_H7] = (byte)c.H7;
        Registers[(int)Bme680Register.PAR_G1] = (byte)c.G1;
        Put16((int)Bme680Register.PAR_G2, c.G2);
        Registers[(int)Bme680Register.PAR_G3] = (byte)c.G3;
        Registers[(int)Bme680Register.RES_HEAT_RANGE] = (byte)((c.ResHeatRange & 3) << 4);
        Registers[(int)Bme680Register.RES_HEAT_VAL] = (byte)c.ResHeatVal;
        Registers[(int)Bme680Register.RANGE_SW_ERR] = (byte)((c.RangeSwitchingError & 0xF) << 4);
    }

    public Bme680Calibration Calibration { get; }

    public int Measurements { get; private set; }

    /// <summary>The next measurement's raw readings: 20-bit temperature and pressure, 16-bit humidity, 10-bit gas resistance and its 4-bit range.</summary>
    public void SetRaw(int temperature, int pressure, int humidity, int gas, int gasRange)
    {
        (_temperature, _pressure, _humidity, _gas, _gasRange) = (temperature, pressure, humidity, gas, gasRange);
    }

    private void Put16(int low, int value) => BinaryPrimitives.WriteUInt16LittleEndian(Registers.AsSpan(low), (ushort)value);

    protected override void OnWrite(int register, byte value)
    {
        if (register is (int)Bme680Register.CHIP_ID or < 0x1D || register is >= 0x8A and <= 0xA1 or >= 0xE1 and <= 0xEE)
            return; // id, trimming and result registers are read-only
        if (register == 0xE0) return; // soft reset: nothing to clear in the simulated chip
        Registers[register] = value;
        if (register == (int)Bme680Register.CTRL_MEAS && (value & 3) == 1) Measure();
    }

    private void Measure()
    {
        Measurements++;
        Put20((int)Bme680Register.PRESS_MSB, _pressure);
        Put20((int)Bme680Register.TEMP_MSB, _temperature);
        BinaryPrimitives.WriteUInt16BigEndian(Registers.AsSpan((int)Bme680Register.HUM_MSB), (ushort)_humidity);
        bool gasRan = (Registers[(int)Bme680Register.CTRL_GAS_1] & 0x10) != 0 && (Registers[(int)Bme680Register.CTRL_GAS_0] & 0x08) == 0;
        Registers[(int)Bme680Register.GAS_R_MSB] = (byte)(_gas >> 2);
        Registers[(int)Bme680Register.GAS_R_LSB] = (byte)((_gas & 3) << 6 | (gasRan ? 0x30 : 0) | (_gasRange & 0xF));
        Registers[(int)Bme680Register.MEAS_STATUS_0] = 0x80; // new_data; measuring and gas_measuring done
        Registers[(int)Bme680Register.CTRL_MEAS] &= 0xFC; // back to sleep mode
    }

    private void Put20(int msb, int value)
    {
        Registers[msb] = (byte)(value >> 12);
        Registers[msb + 1] = (byte)(value >> 4);
        Registers[msb + 2] = (byte)((value & 0xF) << 4);
    }

    protected override bool OnRead(int register) => register is >= (int)Bme680Register.PRESS_MSB and <= (int)Bme680Register.GAS_R_LSB;
}
